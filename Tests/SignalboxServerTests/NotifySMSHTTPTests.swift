import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxTesting
import Synchronization
import Testing

@testable import SignalboxFunctions
@testable import SignalboxServer

/// A value shared between tasks and escaping closures.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}

/// `notify-sms` over real HTTP: the handler sends through ``AsyncHTTPClientAdapter`` to a local
/// server speaking Twilio's Messages API.
@Suite("notify-sms over HTTP")
struct NotifySMSHTTPTests {
    /// What the fake provider saw of one request.
    struct Received: Sendable {
        var method: String
        var path: String
        var authorization: String?
        var contentType: String?
        var form: [String: String]
    }

    /// A fake Twilio on an ephemeral loopback port; `reply` answers each Messages API request.
    /// Runs `body` with the base URL, then stops the server.
    static func withProvider<T: Sendable>(
        reply: @escaping @Sendable (Received) async throws -> Response,
        _ body: @Sendable (_ baseURL: String, _ received: @Sendable () -> [Received]) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "signalbox.test.sms-provider")
        logger.logLevel = .warning
        let requests = Locked<[Received]>([])
        let router = Router()
        router.post("/2010-04-01/Accounts/:account/Messages.json") { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let received = Received(
                method: request.method.rawValue, path: request.uri.path,
                authorization: request.headers[.authorization], contentType: request.headers[.contentType],
                form: Self.decodeForm(String(buffer: bytes)))
            requests.withLock { $0.append(received) }
            return try await reply(received)
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            defer { tasks.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("the fake provider never came up") }
            do {
                let value = try await body("http://127.0.0.1:\(port)", { requests.withLock { $0 } })
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return value
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }

    /// Decodes an `application/x-www-form-urlencoded` body.
    static func decodeForm(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                PercentEncoding.decode(part.replacing("+", with: " ")) ?? "<invalid>"
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// Runs `body` with a harness whose handlers use a real HTTP client, shut down afterwards.
    static func withHarness<T: Sendable>(_ body: (HandlerHarness) async throws -> T) async throws -> T {
        let http = AsyncHTTPClientAdapter()
        do {
            let value = try await body(HandlerHarness(ruleName: "fridge-too-warm", realHTTP: http))
            try await http.shutdown()
            return value
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    static func sms(baseURL: String) -> ConfigValue {
        [
            "to": "${phone}", "body": "Fridge ${topic(2)} is at ${temp} °C & rising", "from": "+15550199",
            "account": "AC0123456789abcdef0123456789abcdef", "auth_token": "tok3n",
            "base_url": .init(stringLiteral: baseURL),
        ]
    }

    static let message = HarnessMessage(
        output: ["temp": 9.5], topic: "fridges/f1/telemetry", payload: ["temp": 9.5, "phone": "+15550100"])

    @Test("the provider receives a Twilio Messages request with Basic auth and form fields; 201 is success")
    func created() async throws {
        try await Self.withProvider(
            reply: { _ in Self.json(.created, #"{"sid": "SM0123", "status": "queued"}"#) }
        ) { baseURL, received in
            try await Self.withHarness { harness in
                let sms = try harness.build(NotifySMS.self, Self.sms(baseURL: baseURL))
                let outcome = await harness.invoke(sms, Self.message)
                #expect(outcome.succeeded)
            }
            let request = try #require(received().first)
            #expect(received().count == 1)
            #expect(request.method == "POST")
            #expect(request.path == "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json")
            #expect(
                request.authorization
                    == "Basic " + Base64.encode(Array("AC0123456789abcdef0123456789abcdef:tok3n".utf8)))
            #expect(request.contentType == "application/x-www-form-urlencoded")
            #expect(
                request.form == ["To": "+15550100", "From": "+15550199", "Body": "Fridge f1 is at 9.5 °C & rising"])
        }
    }

    @Test("a 500 is a retryable error, returned quickly")
    func serverError() async throws {
        try await Self.withProvider(reply: { _ in Self.json(.internalServerError, #"{"code": 20500}"#) }) {
            baseURL, _ in
            try await Self.withHarness { harness in
                let sms = try harness.build(NotifySMS.self, Self.sms(baseURL: baseURL))
                let start = ContinuousClock.now
                let outcome = await harness.invoke(sms, Self.message)
                #expect(outcome.isRetryable)
                #expect("\(try #require(outcome.error))" == "the SMS provider answered HTTP 500")
                #expect(ContinuousClock.now - start < .seconds(20))  // not retried inside the attempt
            }
        }
    }

    @Test("a 400 fails for good, naming Twilio's error code")
    func badRequest() async throws {
        let refusal =
            #"{"code": 21211, "message": "The 'To' number +15550100 is not a valid phone number.", "status": 400}"#
        try await Self.withProvider(reply: { _ in Self.json(.badRequest, refusal) }) { baseURL, _ in
            try await Self.withHarness { harness in
                let sms = try harness.build(NotifySMS.self, Self.sms(baseURL: baseURL))
                let outcome = await harness.invoke(sms, Self.message)
                #expect(
                    outcome.permanentError?.description
                        == "the SMS provider refused the request: HTTP 400, Twilio error 21211")
            }
        }
    }

    @Test("a provider that never answers gives a retryable error at the deadline")
    func neverAnswers() async throws {
        let gate = Locked(false)
        try await Self.withProvider(
            reply: { _ in
                while !gate.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
                return Self.json(.created, "{}")
            }
        ) { baseURL, _ in
            try await Self.withHarness { harness in
                let sms = try harness.build(NotifySMS.self, Self.sms(baseURL: baseURL))
                let start = ContinuousClock.now
                let outcome = await harness.invoke(sms, Self.message, timeout: .milliseconds(400))
                let elapsed = ContinuousClock.now - start
                #expect(outcome.isRetryable)
                #expect(elapsed >= .milliseconds(300))
                #expect(elapsed < .seconds(3))
            }
            // The adapter alone ends the request at its deadline.
            let http = AsyncHTTPClientAdapter()
            let start = ContinuousClock.now
            await #expect {
                _ = try await http.send(
                    OutgoingHTTPRequest(url: baseURL + "/2010-04-01/Accounts/AC1/Messages.json", body: [0x61]),
                    deadline: .now + .milliseconds(300))
            } throws: { error in
                "\(error)" == "no response from \(baseURL) before the deadline"
            }
            #expect(ContinuousClock.now - start < .seconds(20))  // the 300 ms deadline, not a hang
            try await http.shutdown()
            gate.withLock { $0 = true }
        }
    }

    @Test("the adapter reads at most 64 KiB of a response and refuses URLs that are not http(s)")
    func adapterLimits() async throws {
        let big = String(repeating: "x", count: 200_000)
        try await Self.withProvider(reply: { _ in Self.json(.created, big) }) { baseURL, _ in
            let http = AsyncHTTPClientAdapter()
            do {
                let response = try await http.send(
                    OutgoingHTTPRequest(
                        url: baseURL + "/2010-04-01/Accounts/AC1/Messages.json", body: Array("a=b".utf8)),
                    deadline: .now + .seconds(5))
                #expect(response.status == 201)
                #expect(response.body.count == AsyncHTTPClientAdapter.maxResponseBytes)
                await #expect(throws: AsyncHTTPClientAdapter.Failure.self) {
                    _ = try await http.send(
                        OutgoingHTTPRequest(url: "http+unix://%2Ftmp%2Fsock/x"), deadline: .now + .seconds(1))
                }
                await #expect(throws: AsyncHTTPClientAdapter.Failure.self) {
                    _ = try await http.send(OutgoingHTTPRequest(url: baseURL), deadline: .now - .seconds(1))
                }
            } catch {
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }

    @Test("the adapter fails a refused connection at once, naming scheme, host, port and reason only")
    func adapterRefusedConnection() async throws {
        // A port that was free a moment ago: bound by a listener that has stopped.
        let port = try await Self.withProvider(reply: { _ in Self.json(.ok, "{}") }) { baseURL, _ in
            Int(baseURL.split(separator: ":").last ?? "") ?? 0
        }
        let http = AsyncHTTPClientAdapter()
        for _ in 0..<3 {
            let start = ContinuousClock.now
            await #expect {
                _ = try await http.send(
                    OutgoingHTTPRequest(url: "http://127.0.0.1:\(port)/hook?token=hook-secret", body: [0x61]),
                    deadline: .now + .seconds(30))
            } throws: { error in
                "\(error)" == "cannot connect to http://127.0.0.1:\(port): connection refused"
            }
            #expect(ContinuousClock.now - start < .seconds(20))  // at once, not at the 30 s deadline
        }
        try await http.shutdown()
    }
}
