import SignalboxCore
import SignalboxJSON
import SignalboxServer
import Testing

/// How the gateway sync stream splits a gateway's share of a page into messages.
struct GatewaySyncStreamTests {
    static func entry(_ thing: String, padding: Int) -> Value {
        var entry = JSONObject()
        entry.appendUnique(key: "thing", value: .string(thing))
        entry.appendUnique(key: "pad", value: .string(String(repeating: "x", count: padding)))
        return .object(entry)
    }

    static func decoded(_ message: OutgoingMessage) throws -> (cursor: Int64?, things: [String], more: Bool?) {
        let reply = try JSONParser.parse(message.payload)
        guard case .int(let cursor)? = reply["cursor"], case .array(let changes)? = reply["changes"],
            case .bool(let more)? = reply["more"]
        else { return (nil, [], nil) }
        let things = changes.compactMap { change -> String? in
            if case .string(let thing)? = change["thing"] { thing } else { nil }
        }
        return (cursor, things, more)
    }

    @Test func aSmallShareIsOneMessageWithTheNewCursor() throws {
        let messages = GatewaySyncStream.messages(
            [Self.entry("a", padding: 10), Self.entry("b", padding: 10)], topic: "$signalbox/gateways/g/sync",
            from: 5, to: 9, maxBytes: 128 * 1024)
        #expect(messages.map(\.topic) == ["$signalbox/gateways/g/sync"])
        let only = try Self.decoded(messages[0])
        #expect(only.cursor == 9 && only.things == ["a", "b"] && only.more == false)
    }

    @Test func thePointerToHTTPSyncKeepsTheCursorAndSaysMore() throws {
        let pointer = try GatewaySyncStream.messages([], topic: "t", from: 5, to: 5, maxBytes: 1, more: true)
            .map(Self.decoded)
        #expect(pointer.count == 1)
        #expect(pointer[0].cursor == 5 && pointer[0].things.isEmpty && pointer[0].more == true)
    }

    @Test func aLargeShareIsSplitAndOnlyTheLastMessageMovesTheCursor() throws {
        // Each entry is about 130 bytes: two fit in 300; the 1,000-byte one goes alone.
        let entries = [
            Self.entry("a", padding: 100), Self.entry("b", padding: 100), Self.entry("c", padding: 100),
            Self.entry("big", padding: 1_000), Self.entry("d", padding: 100),
        ]
        let messages = try GatewaySyncStream.messages(entries, topic: "t", from: 5, to: 9, maxBytes: 300)
            .map(Self.decoded)
        #expect(messages.map(\.things) == [["a", "b"], ["c"], ["big"], ["d"]])
        #expect(messages.map(\.cursor) == [5, 5, 5, 9])
        #expect(messages.map(\.more) == [true, true, true, false])
    }
}
