import SignalboxCore
import SignalboxShadows
import SignalboxTesting
import Testing

struct MessagePublisherTests {
    @Test func fanOutDeliversToConnectedPublishersOnly() async {
        let first = RecordingPublisher()
        let second = RecordingPublisher()
        let message = OutgoingMessage(topic: "a/b", payload: Array("{}".utf8))
        await FanOutPublisher([first, DiscardingPublisher(), second]).publish([message])
        #expect(first.messages == [message])
        #expect(second.messages == [message])
        #expect(FanOutPublisher([first]).isConnected)
        #expect(!FanOutPublisher([DiscardingPublisher()]).isConnected)
        #expect(!DiscardingPublisher().isConnected)
    }

    @Test func noEventsAreBuiltForADiscardingPublisher() async throws {
        // The service works the same without anyone listening; replies are unaffected.
        let service = ShadowService(storage: InMemoryShadowStorage(), clock: { 7 })
        let reply = try await service.update(
            ShadowKey(thing: "t"), body: Array(#"{"state":{"desired":{"a":1}}}"#.utf8))
        #expect(reply["version"] == 1)
    }
}
