import HTTPTypes
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import Testing

@testable import SignalboxServer

/// `POST /topics/{topic}`: the AWS IoT data-plane Publish, over real HTTP.
struct PublishRoutesTests {
    static let topic = "gateways/gw-01/devices/fridge-7/telemetry"
    static let encodedTopic = "gateways%2Fgw-01%2Fdevices%2Ffridge-7%2Ftelemetry"

    @Test func anAdminPublishIsJournaledWithItsExactBytes() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest) { server in
            let payload: [UInt8] = [0x00, 0xFF, 0x7B, 0x0A, 0x80]  // not JSON, not UTF-8
            let before = SystemClock.milliseconds()
            let reply = try await server.send(
                .post, "/topics/\(Self.encodedTopic)?qos=1", headers: [.contentType: "application/octet-stream"],
                bytes: payload)
            #expect(reply.status == 200)
            #expect(reply.json == ["message": "OK", "traceId": "1"])
            #expect(reply.headers[HTTPField.Name("x-signalbox-message-id")!] == "1")
            let message = try #require(ingest.messages.first)
            #expect(ingest.calls.count == 1)
            #expect(message.topic == Self.topic)
            #expect(message.payload == payload)
            #expect(message.gateway == nil)
            #expect(message.receivedAt >= before && message.receivedAt <= SystemClock.milliseconds())
        }
    }

    @Test func anUnencodedMultiLevelPathIsTheTopic() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest) { server in
            let reply = try await server.send(.post, "/topics/\(Self.topic)", body: #"{"temp": 21.5}"#)
            #expect(reply.status == 200)
            #expect(ingest.messages.map(\.topic) == [Self.topic])
            #expect(ingest.messages.first?.payload == bytes(#"{"temp": 21.5}"#))
        }
    }

    @Test(arguments: [
        "a//b", "/leading", "trailing/", "emoji/🧊/ok", "with space/x", "retain?retain=true", "qos0?qos=0",
        "empty-payload",
    ])
    func validTopicsAndParametersAreAccepted(_ path: String) async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest) { server in
            let parts = path.split(separator: "?", maxSplits: 1)
            let encoded = PercentEncoding.encode(String(parts[0]), keeping: "")
            let query = parts.count > 1 ? "?" + parts[1] : ""
            let reply = try await server.send(.post, "/topics/\(encoded)\(query)", bytes: [])
            #expect(reply.status == 200, "\(reply.text)")
            #expect(ingest.messages.map(\.topic) == [String(parts[0])])
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var path: String
        var body: [UInt8] = bytes("{}")
        var token: String?? = .none
        var status: Int
        var errorType: String
        var message: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "single-level wildcard", path: "/topics/a%2F%2B%2Fb", status: 400,
            errorType: "InvalidRequestException",
            message: "Invalid topic: the topic contains a wildcard ('+' or '#'); publish to a concrete topic"),
        Case(
            name: "multi-level wildcard", path: "/topics/a/%23", status: 400, errorType: "InvalidRequestException"),
        Case(
            name: "too long", path: "/topics/" + String(repeating: "x", count: 257), status: 400,
            errorType: "InvalidRequestException", message: "Invalid topic: the topic is longer than 256 bytes"),
        Case(
            name: "too many levels", path: "/topics/a/b/c/d/e/f/g/h/i", status: 400,
            errorType: "InvalidRequestException", message: "Invalid topic: the topic has more than 8 levels"),
        Case(
            name: "empty", path: "/topics/", status: 400, errorType: "InvalidRequestException",
            message: "Invalid topic: the topic is empty"),
        Case(
            name: "NUL", path: "/topics/a%00b", status: 400, errorType: "InvalidRequestException",
            message: "Invalid topic: the topic contains a NUL character"),
        Case(
            name: "not UTF-8", path: "/topics/a%FFb", status: 400, errorType: "InvalidRequestException",
            message: "Malformed percent-encoding in the request path"),
        Case(
            name: "$aws reserved", path: "/topics/%24aws%2Fthings%2Ff1%2Fshadow%2Fupdate", status: 400,
            errorType: "InvalidRequestException"),
        Case(
            name: "$signalbox reserved", path: "/topics/$signalbox/x", status: 400, errorType: "InvalidRequestException"
        ),
        Case(
            name: "qos 2", path: "/topics/a/b?qos=2", status: 400, errorType: "InvalidRequestException",
            message: "qos must be 0 or 1"),
        Case(name: "qos text", path: "/topics/a/b?qos=one", status: 400, errorType: "InvalidRequestException"),
        Case(
            name: "retain not boolean", path: "/topics/a/b?retain=yes", status: 400,
            errorType: "InvalidRequestException", message: "retain must be true or false"),
        Case(
            name: "payload over the limit", path: "/topics/a/b", body: [UInt8](repeating: 0x61, count: 4097),
            status: 413, errorType: "RequestEntityTooLargeException",
            message: "The payload exceeds the maximum size allowed (4096 bytes)"),
        Case(
            name: "unknown token", path: "/topics/a/b", token: "SBXAAAAAAAAAAAAAAAAA.nope", status: 401,
            errorType: "UnauthorizedException"),
        Case(name: "no token", path: "/topics/a/b", token: .some(nil), status: 401, errorType: "UnauthorizedException"),
        Case(
            name: "leading empty segment", path: "//topics/a/b", status: 404, errorType: "ResourceNotFoundException",
            message: "No endpoint at this path (POST)"),
    ]

    @Test(arguments: cases)
    func badInputGetsAClearErrorAndReachesNothing(_ row: Case) async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest, configure: { $0.maxPayloadBytes = 4096 }) { server in
            let reply = try await server.send(.post, row.path, token: row.token, bytes: row.body)
            #expect(reply.status == row.status, "\(reply.text)")
            #expect(reply.errorType == row.errorType)
            if let message = row.message { #expect(reply.message == message) }
            #expect(ingest.calls.isEmpty)
        }
    }

    @Test func aPayloadAtTheLimitIsAccepted() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest, configure: { $0.maxPayloadBytes = 4096 }) { server in
            let reply = try await server.send(.post, "/topics/a/b", bytes: [UInt8](repeating: 0x61, count: 4096))
            #expect(reply.status == 200)
            #expect(ingest.messages.first?.payload.count == 4096)
        }
    }

    @Test func gatewaysPublishOnlyUnderTheirOwnTopics() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(ingest: ingest) { server in
            let token = try await server.addGateway("gw-01")
            let own = try await server.send(
                .post, "/topics/gateways/gw-01/devices/f1/telemetry", token: token, body: "1")
            #expect(own.status == 200)
            let parent = try await server.send(.post, "/topics/gateways/gw-01", token: token, body: "2")
            #expect(parent.status == 200)
            for path in ["/topics/gateways/gw-02/devices/f1/telemetry", "/topics/gateways/gw-011/x", "/topics/alerts"] {
                let other = try await server.send(.post, path, token: token, body: "3")
                #expect(other.status == 403, "\(path)")
                #expect(other.errorType == "ForbiddenException")
                #expect(other.message == "This gateway may publish only to topics matching gateways/gw-01/#")
            }
            #expect(ingest.messages.map(\.topic) == ["gateways/gw-01/devices/f1/telemetry", "gateways/gw-01"])
            #expect(ingest.messages.map(\.gateway) == ["gw-01", "gw-01"])
        }
    }

    @Test func configuredGatewayFiltersReplaceTheDefault() async throws {
        let ingest = RecordingIngest()
        try await RuntimeTestServer.run(
            ingest: ingest, configure: { $0.gatewayTopicFilters = ["sites/+/{gateway}/#", "telemetry/{gateway}"] }
        ) { server in
            let token = try await server.addGateway("gw-01")
            for (path, status) in [
                ("/topics/sites/berlin/gw-01/f1", 200), ("/topics/telemetry/gw-01", 200),
                ("/topics/telemetry/gw-01/x", 403), ("/topics/gateways/gw-01/x", 403),
            ] {
                let reply = try await server.send(.post, path, token: token, body: "{}")
                #expect(reply.status == status, "\(path)")
            }
            #expect(ingest.messages.count == 2)
        }
    }

    @Test func anInvalidGatewayFilterStopsTheServerFromStarting() async throws {
        await #expect(throws: SignalboxServer.StartupError.self) {
            try await RuntimeTestServer.run(configure: { $0.gatewayTopicFilters = ["gateways/{gateway}/#/x"] }) { _ in }
        }
    }

    @Test func refusalsMapToBackPressure() async throws {
        let ingest = RecordingIngest(refusal: .overloaded(retryAfter: 7))
        try await RuntimeTestServer.run(ingest: ingest) { server in
            let overloaded = try await server.send(.post, "/topics/a/b", body: "{}")
            #expect(overloaded.status == 429)
            #expect(overloaded.errorType == "ThrottlingException")
            #expect(overloaded.headers[.retryAfter] == "7")

            ingest.refuse(.unavailable)
            let unavailable = try await server.send(.post, "/topics/a/b", body: "{}")
            #expect(unavailable.status == 503)
            #expect(unavailable.errorType == "ServiceUnavailableException")

            ingest.refuse(.journalFailed("disk I/O error at /var/lib/secret-path"))
            let failed = try await server.send(.post, "/topics/a/b", body: "{}")
            #expect(failed.status == 503)
            #expect(failed.headers[.retryAfter] == "1")
            #expect(failed.message == "The journal could not store the messages; retry")
            #expect(!failed.text.contains("secret-path"))

            ingest.refuse(nil)
            #expect(try await server.send(.post, "/topics/a/b", body: "{}").status == 200)
        }
    }

    @Test func withoutARuntimePublishingIsUnavailable() async throws {
        try await RuntimeTestServer.run { server in
            let reply = try await server.send(.post, "/topics/a/b", body: "{}")
            #expect(reply.status == 503)
            #expect(reply.errorType == "ServiceUnavailableException")
            #expect(reply.message == "Ingest is not available: the rules runtime is not running in this server")
        }
    }

    @Test func otherMethodsAreNotAllowed() async throws {
        try await RuntimeTestServer.run(ingest: RecordingIngest()) { server in
            let reply = try await server.send(.get, "/topics/a/b")
            #expect(reply.status == 405)
        }
    }
}
