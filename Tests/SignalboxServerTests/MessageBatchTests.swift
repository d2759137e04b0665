import SignalboxJSON
import Testing

@testable import SignalboxServer

/// The batch body parser: exact payload bytes, the first bad message, both formats.
struct MessageBatchTests {
    @Test func payloadsAreTheirExactSourceBytes() {
        let body = #"[ {"topic":"t/1","payload": { "a" : [1, 2.50, "\u00e9"] } } , {"payload":"x\"y","topic":"t/2"} ]"#
        let batch = MessageBatch.parse(Array(body.utf8), format: .array, maxMessages: 10)
        #expect(batch.failure == nil)
        #expect(batch.messages.map(\.topic) == ["t/1", "t/2"])
        #expect(
            batch.messages.map(\.payload) == [Array(#"{ "a" : [1, 2.50, "\u00e9"] }"#.utf8), Array(#""x\"y""#.utf8)])
    }

    @Test func escapedKeysAndTopicsAreDecoded() {
        let body = #"[{"\u0074opic":"a\/b\u00e9","payload_base64":"aGk="}]"#
        let batch = MessageBatch.parse(Array(body.utf8), format: .array, maxMessages: 10)
        #expect(batch.failure == nil)
        #expect(batch.messages.first == MessageBatch.Item(topic: "a/bé", payload: Array("hi".utf8)))
    }

    @Test func theMessagesBeforeTheFirstBadOneAreKept() {
        let body = #"[{"topic":"a","payload":1},{"topic":"b","payload":2},{"topic":"c"}]"#
        let batch = MessageBatch.parse(Array(body.utf8), format: .array, maxMessages: 10)
        #expect(batch.messages.map(\.topic) == ["a", "b"])
        #expect(batch.failure?.index == 2)
        #expect(batch.failure?.message == "message 2 has neither 'payload' nor 'payload_base64'")
        #expect(batch.failure?.isLimit == false)
    }

    @Test(arguments: [
        ("application/x-ndjson" as String?, MessageBatch.Format.lines), ("Application/JSONL; charset=utf-8", .lines),
        ("application/json-lines", .lines), ("application/json", .array), (nil, .array), ("text/plain", .array),
    ])
    func theContentTypePicksTheFormat(_ contentType: String?, _ format: MessageBatch.Format) {
        #expect(MessageBatch.Format(contentType: contentType) == format)
    }

    @Test func aStringMayHoldBracketsAndEscapedQuotes() {
        let body = #"[{"topic":"a","payload":"]}\"{["},{"topic":"b","payload":{"k":"}"}}]"#
        let batch = MessageBatch.parse(Array(body.utf8), format: .array, maxMessages: 10)
        #expect(batch.failure == nil)
        #expect(batch.messages.map(\.payload) == [Array(#""]}\"{[""#.utf8), Array(#"{"k":"}"}"#.utf8)])
    }

    @Test(arguments: [
        (
            #"[{"topic":"a","payload":"\#u{1}"}]"#,
            "message 0 is not valid JSON (line 1, column 26): control character in string; it must be escaped"
        ),
        (#"[{"topic":"a","payload":tru}]"#, "message 0 is not valid JSON (line 1, column 28): invalid literal"),
        (
            #"[{"topic":"a","payload":1"#,
            "message 0 is not valid JSON (line 1, column 26): unexpected end of input in object"
        ),
        (#"[{"topic":"a","topic":"b","payload":1}]"#, "message 0 has 'topic' twice"),
        ("[{\"topic\":\"a\",\"payload\":\"\u{FF}\"}]", nil),
    ])
    func malformedMessagesAreNamed(_ body: String, _ message: String?) {
        var bytes = Array(body.utf8)
        if message == nil {  // an invalid UTF-8 byte inside the payload string
            bytes = Array(#"[{"topic":"a","payload":""#.utf8) + [0xFF] + Array(#""}]"#.utf8)
        }
        let batch = MessageBatch.parse(bytes, format: .array, maxMessages: 10)
        #expect(batch.failure?.index == 0)
        if let message {
            #expect(batch.failure?.message == message)
        } else {
            #expect(
                batch.failure?.message.hasPrefix("message 0 is not valid JSON (line 1, column 26): invalid UTF-8")
                    == true)
        }
    }

    @Test func theMessageLimitCountsMessagesNotBytes() {
        let one = #"{"topic":"a","payload":1}"#
        let three = MessageBatch.parse(Array("[\(one),\(one),\(one)]".utf8), format: .array, maxMessages: 3)
        #expect(three.failure == nil)
        let four = MessageBatch.parse(Array("\(one)\n\(one)\n\(one)\n\(one)".utf8), format: .lines, maxMessages: 3)
        #expect(four.messages.count == 3)
        #expect(four.failure?.isLimit == true)
        #expect(four.failure?.index == 3)
    }

    @Test func parseOneIgnoresTheGivenMembers() throws {
        let body = Array(#"{"timestamp": 5, "topic": "a/b", "payload": [1]}"#.utf8)
        let item = try MessageBatch.parseOne(body, ignoring: ["timestamp"]).get()
        #expect(item == MessageBatch.Item(topic: "a/b", payload: Array("[1]".utf8)))
        guard case .failure(let failure) = MessageBatch.parseOne(body) else {
            Issue.record("timestamp was not refused")
            return
        }
        #expect(failure.message.hasPrefix("the request has an unknown member 'timestamp'"))
    }
}
