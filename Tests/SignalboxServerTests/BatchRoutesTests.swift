import HTTPTypes
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import Synchronization
import Testing

@testable import SignalboxServer

/// `POST /gateways/{gateway}/messages`: batches of messages, journaled together or not at all, with
/// the gateway's pending desired-state changes in the reply.
struct BatchRoutesTests {
    static let path = "/gateways/gw-01/messages"

    /// Payloads in unusual but valid JSON spellings: the journaled bytes must be exactly these.
    static let payloads = [
        #"{"temp": 21.50,  "door" :"open", "tags":[ 1 ,2 ]}"#, #"1.0e3"#, #""caf\u00e9 \"quoted\"""#, "null",
        #"[{"a":{"b":[{}]}}]"#, #"{"text": "brace } and bracket ] in a string"}"#,
    ]

    @Test func aJSONArrayIsJournaledInOneCallWithExactPayloadBytes() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest) { server in
            let token = try await server.addGateway("gw-01")
            var body = "[\n"
            for (i, payload) in Self.payloads.enumerated() {
                body += #"  {"topic": "gateways/gw-01/devices/d\#(i)/telemetry", "payload": \#(payload)},"# + "\n"
            }
            body += #"  {"payload_base64": "AAEC/w==", "topic": "gateways/gw-01/devices/bin/raw"}"# + "\n]"
            let reply = try await server.send(.post, Self.path, token: token, body: body)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.json["accepted"] == .int(Int64(Self.payloads.count + 1)))
            #expect(reply.json["first_id"] == 1)
            #expect(reply.json["last_id"] == .int(Int64(Self.payloads.count + 1)))
            #expect(ingest.calls.count == 1)
            let messages = ingest.messages
            #expect(messages.map(\.payload) == Self.payloads.map(bytes) + [[0, 1, 2, 255]])
            #expect(messages.last?.topic == "gateways/gw-01/devices/bin/raw")
            #expect(messages.allSatisfy { $0.gateway == "gw-01" })
        }
    }

    @Test func jsonLinesAreAcceptedWithBlankLinesAndCRLF() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest) { server in
            let token = try await server.addGateway("gw-01")
            let body =
                #"{"topic": "gateways/gw-01/a", "payload": {"n": 1}}"# + "\r\n\n"
                + #"{"topic": "gateways/gw-01/b", "payload_base64": ""}"# + "\r\n   \n"
                + #"  {"topic": "gateways/gw-01/c", "payload": [1, 2]}  "#
            let reply = try await server.send(
                .post, Self.path, token: token, headers: [.contentType: "application/x-ndjson; charset=utf-8"],
                body: body)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(ingest.messages.map(\.topic) == ["gateways/gw-01/a", "gateways/gw-01/b", "gateways/gw-01/c"])
            #expect(ingest.messages.map(\.payload) == [bytes(#"{"n": 1}"#), [], bytes("[1, 2]")])
        }
    }

    @Test func theReplyCarriesThePendingDesiredChangesAsSyncDoes() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest) { server in
            let token = try await server.addGateway("gw-01", things: ["fridge-7", "fridge-8"])
            _ = try await server.addGateway("gw-02", things: ["other-1"])
            for thing in ["fridge-7", "other-1"] {
                let update = try await server.send(
                    .post, "/things/\(thing)/shadow", body: #"{"state":{"desired":{"maxTemp":5}}}"#)
                #expect(update.status == 200)
            }
            let body = #"[{"topic": "gateways/gw-01/devices/fridge-7/telemetry", "payload": {"temp": 9}}]"#
            let reply = try await server.send(.post, Self.path + "?cursor=0", token: token, body: body)
            #expect(reply.status == 200, "\(reply.text)")
            let changes = try #require(reply.json["changes"])
            guard case .array(let entries) = changes else { throw TestFailure("changes is not an array") }
            #expect(entries.map { $0["thing"] } == [.string("fridge-7")])
            #expect(entries.first?["desired"] == ["maxTemp": 5])
            #expect(entries.first?["delta"] == ["maxTemp": 5])

            let sync = try await server.send(.get, "/gateways/gw-01/sync?cursor=0", token: token)
            #expect(sync.status == 200)
            for key in ["changes", "cursor", "more"] { #expect(reply.json[key] == sync.json[key], "\(key)") }

            // With the returned cursor the box is empty, and the messages still go through.
            let cursor = try #require(reply.json["cursor"].flatMap { if case .int(let n) = $0 { n } else { nil } })
            let again = try await server.send(.post, Self.path + "?cursor=\(cursor)", token: token, body: body)
            #expect(again.json["changes"] == .array([]))
            #expect(again.json["cursor"] == .int(cursor))
            #expect(again.json["more"] == false)
            #expect(ingest.messages.count == 2)
        }
    }

    @Test func anEmptyBatchJournalsNothingAndStillReturnsTheBox() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: nil) { server in
            let token = try await server.addGateway("gw-01", things: ["fridge-7"])
            _ = try await server.send(.post, "/things/fridge-7/shadow", body: #"{"state":{"desired":{"on":true}}}"#)
            let reply = try await server.send(.post, Self.path, token: token, body: " [ ] ")
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.json["accepted"] == 0)
            #expect(reply.json["first_id"] == .null)
            #expect(reply.json["changes"]?[0]?["thing"] == "fridge-7")
        }
        #expect(ingest.calls.isEmpty)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var contentType: String?
        var status = 400
        var errorType = "InvalidRequestException"
        var message: String
        var testDescription: String { name }
    }

    static let good = #"{"topic": "gateways/gw-01/ok", "payload": 1}"#
    static let cases: [Case] = [
        Case(
            name: "not JSON", body: "temp=21",
            message:
                "The body must be a JSON array of messages, or JSON Lines with Content-Type: application/x-ndjson"),
        Case(
            name: "an object, not an array", body: good,
            message:
                "The body must be a JSON array of messages, or JSON Lines with Content-Type: application/x-ndjson"),
        Case(name: "an array of numbers", body: "[\(good), 1]", message: "message 1 must be a JSON object"),
        Case(
            name: "missing topic", body: #"[\#(good), {"payload": 1}]"#, message: "message 1 has no 'topic'"),
        Case(
            name: "missing payload", body: #"[{"topic": "gateways/gw-01/a"}]"#,
            message: "message 0 has neither 'payload' nor 'payload_base64'"),
        Case(
            name: "payload and payload_base64",
            body: #"[{"topic": "gateways/gw-01/a", "payload": 1, "payload_base64": "AA=="}]"#,
            message: "message 0 has both 'payload' and 'payload_base64'"),
        Case(
            name: "bad base64", body: #"[\#(good), \#(good), {"topic": "gateways/gw-01/a", "payload_base64": "**"}]"#,
            message: "message 2: 'payload_base64' is not valid base64"),
        Case(
            name: "topic not a string", body: #"[{"topic": 7, "payload": 1}]"#,
            message: "message 0: 'topic' must be a string"),
        Case(
            name: "unknown member", body: #"[{"topic": "gateways/gw-01/a", "paylod": 1}]"#,
            message: "message 0 has an unknown member 'paylod'; a message has 'topic' and 'payload' or 'payload_base64'"
        ),
        Case(
            name: "invalid JSON inside a message",
            body: "[\(good),\n {\"topic\": \"gateways/gw-01/a\", \"payload\": {\"t\": 1,}}]",
            message: "message 1 is not valid JSON (line 2, column 51): unexpected character '}', expected a string key"),
        Case(
            name: "wildcard topic", body: #"[\#(good), {"topic": "gateways/gw-01/+", "payload": 1}]"#,
            message:
                "message 1: Invalid topic: the topic contains a wildcard ('+' or '#'); publish to a concrete topic"),
        Case(
            name: "reserved topic", body: #"[{"topic": "$aws/things/t/shadow/update", "payload": {}}]"#,
            message:
                "message 0: Topics beginning with '$' ($aws/…, $signalbox/…) are reserved and cannot be published to; "
                + "update shadows through /things/{thing}/shadow"),
        Case(
            name: "topic error before a later syntax error",
            body: #"[{"topic": "gateways/gw-01/a/b/c/d/e/f/g", "payload": 1}, {"#,
            message: "message 0: Invalid topic: the topic has more than 8 levels"),
        Case(name: "unclosed array", body: "[\(good)", message: "The JSON array is not closed"),
        Case(
            name: "trailing data", body: "[\(good)] x",
            message: "Unexpected data after the JSON array (line 1, column 48)"),
        Case(name: "trailing comma", body: "[\(good),]", message: "message 1 must be a JSON object"),
        Case(
            name: "JSON Lines with an array line", body: "\(good)\n\n[1]", contentType: "application/x-ndjson",
            message: "message 1 (line 3) must be a JSON object"),
        Case(
            name: "JSON Lines with two objects on a line", body: "\(good) \(good)", contentType: "application/x-ndjson",
            message: "message 0 (line 1) is not valid JSON (line 1, column 46): unexpected data after the JSON value"),
        Case(
            name: "too many messages", body: "[" + Array(repeating: good, count: 4).joined(separator: ",") + "]",
            status: 413, errorType: "RequestEntityTooLargeException",
            message: "The batch has more than 3 messages, the most allowed"),
        Case(
            name: "a payload over the limit",
            body: #"[\#(good), {"topic": "gateways/gw-01/a", "payload": "\#(String(repeating: "x", count: 600))"}]"#,
            status: 413, errorType: "RequestEntityTooLargeException",
            message: "message 1: the payload exceeds the maximum size allowed (512 bytes)"),
        Case(
            name: "a body over the limit", body: "[" + String(repeating: " ", count: 5000) + "]", status: 413,
            errorType: "RequestEntityTooLargeException",
            message: "The batch exceeds the maximum size allowed (4096 bytes)"),
        Case(
            name: "outside the gateway's topics", body: #"[\#(good), {"topic": "gateways/gw-02/a", "payload": 1}]"#,
            status: 403, errorType: "ForbiddenException",
            message: "message 1: This gateway may publish only to topics matching gateways/gw-01/#"),
        Case(name: "bad cursor", body: "[]", message: "cursor must be a non-negative integer"),
    ]

    @Test(arguments: cases)
    func aBadBatchIsRejectedWholeBeforeAnythingIsJournaled(_ row: Case) async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(
            ingest: ingest,
            configure: {
                $0.maxBatchMessages = 3
                $0.maxPayloadBytes = 512
                $0.maxBatchBytes = 4096
            }
        ) { server in
            let token = try await server.addGateway("gw-01")
            var headers: HTTPFields = [:]
            if let contentType = row.contentType { headers[.contentType] = contentType }
            let path = row.name == "bad cursor" ? Self.path + "?cursor=-1" : Self.path
            let reply = try await server.send(.post, path, token: token, headers: headers, body: row.body)
            #expect(reply.status == row.status, "\(reply.text)")
            #expect(reply.errorType == row.errorType)
            #expect(reply.message == row.message)
            #expect(ingest.calls.isEmpty)
        }
    }

    @Test func aGatewayCannotPostToAnotherGatewaysEndpoint() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest) { server in
            let token = try await server.addGateway("gw-01")
            _ = try await server.addGateway("gw-02")
            let body = #"[{"topic": "gateways/gw-02/a", "payload": 1}]"#
            let reply = try await server.send(.post, "/gateways/gw-02/messages", token: token, body: body)
            #expect(reply.status == 403)
            #expect(reply.errorType == "ForbiddenException")
            #expect(ingest.calls.isEmpty)
        }
    }

    @Test func anAdminPostsForAKnownGatewayToAnyUnreservedTopic() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest) { server in
            _ = try await server.addGateway("gw-01")
            let body = #"[{"topic": "anywhere/at/all", "payload": 1}]"#
            let reply = try await server.send(.post, Self.path, body: body)
            #expect(reply.status == 200, "\(reply.text)")
            #expect(ingest.messages.map(\.gateway) == ["gw-01"])
            let unknown = try await server.send(.post, "/gateways/nobody/messages", body: body)
            #expect(unknown.status == 404)
            #expect(ingest.calls.count == 1)
        }
    }

    @Test func anOverloadedRuntimeGetsRetryAfter() async throws {
        let ingest = RecordingIngest(refusal: .overloaded(retryAfter: 3))
        try await RuntimeTestServer.run(ingest: ingest) { server in
            let token = try await server.addGateway("gw-01")
            let reply = try await server.send(
                .post, Self.path, token: token, body: "[\(Self.good), \(Self.good)]")
            #expect(reply.status == 429)
            #expect(reply.errorType == "ThrottlingException")
            #expect(reply.headers[.retryAfter] == "3")
            #expect(ingest.calls.isEmpty)
            // A full runtime refuses before decoding: even a malformed batch gets the 429.
            ingest.setFull(true)
            let malformed = try await server.send(.post, Self.path, token: token, body: "[{")
            #expect(malformed.status == 429)
            #expect(malformed.headers[.retryAfter] == "1")
            ingest.setFull(false)
            #expect(try await server.send(.post, Self.path, token: token, body: "[{").status == 400)
        }
    }

    @Test func aFullRuntimeRefusesAPublishBeforeReadingItsBody() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest, configure: { $0.maxPayloadBytes = 4096 }) { server in
            let token = try await server.addGateway("gw-01")
            let oversized = [UInt8](repeating: 0x61, count: 64 * 1024)
            ingest.setFull(true)
            // Past the payload limit, yet the 429 comes first: the body was never collected.
            let single = try await server.send(.post, "/topics/gateways/gw-01/t", token: token, bytes: oversized)
            #expect(single.status == 429)
            #expect(single.headers[.retryAfter] == "1")
            let batch = try await server.send(.post, Self.path, token: token, bytes: oversized)
            #expect(batch.status == 429)
            // A missing token is still told so first.
            #expect(
                try await server.send(.post, "/topics/gateways/gw-01/t", token: .some(nil), body: "{}").status == 401)
            ingest.setFull(false)
            // The discarded bodies leave the server answering normally.
            #expect(
                try await server.send(.post, "/topics/gateways/gw-01/t", token: token, bytes: oversized).status == 413)
            #expect(try await server.send(.post, "/topics/gateways/gw-01/t", token: token, body: "{}").status == 200)
            #expect(ingest.messages.count == 1)
        }
    }
}

@Suite struct IngestGateTests {
    @Test func admitsUpToItsLimitAndAgainAfterALeave() {
        let gate = IngestGate(limit: 2, perPrincipalLimit: 2)
        #expect(gate.enter(.principal(.admin)))
        #expect(gate.enter(.principal(.admin)))
        #expect(!gate.enter(.principal(.admin)))
        gate.leave(.principal(.admin))
        #expect(gate.enter(.principal(.admin)))
        #expect(gate.isFull)
        #expect(!gate.enter(.principal(.gateway("gw-01"))))
        gate.leave(.principal(.admin))
        #expect(!gate.isFull)
    }

    @Test func onePrincipalTakesAtMostItsShare() {
        let gate = IngestGate(limit: 8)
        #expect(gate.perPrincipalLimit == 2)
        #expect(gate.enter(.principal(.gateway("gwA"))))
        #expect(gate.enter(.principal(.gateway("gwA"))))
        #expect(!gate.enter(.principal(.gateway("gwA"))))
        #expect(gate.enter(.principal(.gateway("gwB"))))
        #expect(gate.enter(.principal(.admin)))
        gate.leave(.principal(.gateway("gwA")))
        #expect(gate.enter(.principal(.gateway("gwA"))))
        #expect(!gate.enter(.principal(.gateway("gwA"))))
        // Requests whose signature waits for the body share one share, whatever token they name.
        #expect(gate.enter(.unverified))
        #expect(gate.enter(.unverified))
        #expect(!gate.enter(.unverified))
        #expect(!gate.isFull)
    }

    @Test func requestsPastTheLimitAreRefusedWithRetryAfter() async throws {
        let ingest = HeldIngest()
        try await RuntimeTestServer.run(
            ingest: ingest,
            configure: {
                $0.maxConcurrentIngests = 1; $0.maxConcurrentIngestsPerPrincipal = 1
            }
        ) { server in
            let token = try await server.addGateway("gw-01")
            let body = "[\(BatchRoutesTests.good)]"
            // The first request is inside ingest, held there; the second finds the gate full.
            async let first = server.send(.post, BatchRoutesTests.path, token: token, body: body)
            await ingest.waitUntilHeld()
            let refused = try await server.send(.post, BatchRoutesTests.path, token: token, body: body)
            #expect(refused.status == 429)
            #expect(refused.headers[.retryAfter] == "1")
            ingest.release()
            #expect(try await first.status == 200)
            #expect(try await server.send(.post, BatchRoutesTests.path, token: token, body: body).status == 200)
        }
    }
}

/// An ingest that holds its first call until ``release()``.
final class HeldIngest: MessageIngest {
    private let state = Mutex<(held: Bool, released: Bool)>((false, false))

    func ingest(_ messages: [IncomingMessage]) async throws(IngestRefusal) -> [Int64] {
        let hold = state.withLock { state -> Bool in
            defer { state.held = true }
            return !state.held
        }
        if hold {
            while !state.withLock({ $0.released }) { try? await Task.sleep(for: .milliseconds(5)) }
        }
        return messages.indices.map { Int64($0) + 1 }
    }

    func waitUntilHeld() async {
        while !state.withLock({ $0.held }) { try? await Task.sleep(for: .milliseconds(5)) }
    }

    func release() { state.withLock { $0.released = true } }
}
