import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxTesting
import Testing

@testable import SignalboxFunctions

@Suite("webhook")
struct WebhookTests {
    static let reading = HarnessMessage(output: ["temp": 9.5], topic: "devices/f1/telemetry", id: 12)

    @Test("by default the output is POSTed as JSON, with templated headers and an idempotency key")
    func defaults() async throws {
        let harness = HandlerHarness(ruleName: "hook")
        let hook = try harness.build(
            Webhook.self,
            ["url": "https://hooks.example.com/devices/${topic(2)}", "headers": ["X-Device": "${topic(2)}"]])
        let outcome = await harness.invoke(hook, Self.reading)
        #expect(outcome.succeeded)
        #expect(
            outcome.requests == [
                OutgoingHTTPRequest(
                    method: "POST", url: "https://hooks.example.com/devices/f1",
                    headers: [
                        .init("Content-Type", "application/json"), .init("X-Device", "f1"),
                        .init("Idempotency-Key", "12/hook/0"),
                    ],
                    body: Array(#"{"temp":9.5}"#.utf8))
            ])
    }

    @Test("retried as the action's policy says: the same idempotency key at each attempt, up to the last")
    func retriedByPolicy() async throws {
        let harness = HandlerHarness(ruleName: "hook")
        let hook = try harness.build(Webhook.self, ["url": "https://hooks.example.com/in"])
        let retry = RetryPolicy(attempts: 3, backoff: .milliseconds(1) ... .milliseconds(2))

        harness.http.enqueue(.status(503), .status(500), .status(200))
        let recovered = await harness.invoke(hook, Self.reading, retry: retry)
        #expect(recovered.succeeded)
        #expect(recovered.attempts == 3)
        #expect(recovered.requests.map { $0.headers.last?.value } == ["12/hook/0", "12/hook/0", "12/hook/0"])

        harness.http.enqueue(.status(503), .status(503), .status(503))
        let exhausted = await harness.invoke(hook, Self.reading, retry: retry)
        #expect(exhausted.attempts == 3)
        #expect(exhausted.error is HTTPStatusError)

        harness.http.enqueue(.status(400))
        let refused = await harness.invoke(hook, Self.reading, retry: retry)
        #expect(refused.attempts == 1)
        #expect(refused.permanentError != nil)
    }

    @Test("method, content type and a templated body")
    func templatedBody() async throws {
        let harness = HandlerHarness()
        let hook = try harness.build(
            Webhook.self,
            [
                "url": "http://127.0.0.1:9000/in", "method": "PUT", "content_type": "text/plain",
                "body": "${topic(2)} is at ${temp}", "headers": ["Idempotency-Key": "mine"],
            ])
        let request = try #require(await harness.invoke(hook, Self.reading).requests.first)
        #expect(request.method == "PUT")
        #expect(request.headers == [.init("Content-Type", "text/plain"), .init("Idempotency-Key", "mine")])
        #expect(String(decoding: request.body, as: UTF8.self) == "f1 is at 9.5")
    }

    @Test("a body written as a mapping is sent as JSON")
    func mappingBody() async throws {
        let harness = HandlerHarness()
        let hook = try harness.build(
            Webhook.self, ["url": "https://h.example", "body": ["device": "${topic(2)}", "alert": true]])
        let request = try #require(await harness.invoke(hook, Self.reading).requests.first)
        #expect(String(decoding: request.body, as: UTF8.self) == #"{"device":"f1","alert":true}"#)
    }

    @Test(
        "2xx succeeds; 408, 429 and 5xx are retried; other statuses fail for good",
        arguments: [
            (200, "ok"), (201, "ok"), (204, "ok"), (408, "retry"), (429, "retry"), (500, "retry"), (503, "retry"),
            (400, "permanent"), (401, "permanent"), (404, "permanent"), (410, "permanent"), (302, "permanent"),
        ])
    func statuses(status: Int, expected: String) async throws {
        let harness = HandlerHarness()
        harness.http.enqueue(.status(status, body: "secret payload echo"))
        let outcome = await harness.invoke(try harness.build(Webhook.self, ["url": "https://h.example"]), Self.reading)
        switch expected {
        case "ok": #expect(outcome.succeeded)
        case "retry": #expect("\(try #require(outcome.error))" == "the webhook answered HTTP \(status)")
        default: #expect(outcome.permanentError?.description == "the webhook refused the request: HTTP \(status)")
        }
    }

    @Test("a transport failure and a missed deadline are retried")
    func transport() async throws {
        struct Reset: Error {}
        let harness = HandlerHarness()
        let hook = try harness.build(Webhook.self, ["url": "https://h.example"])
        harness.http.enqueue(.failure(Reset()), .noResponse)
        #expect(await harness.invoke(hook, Self.reading).isRetryable)
        let late = await harness.invoke(hook, Self.reading, timeout: .milliseconds(100))
        #expect(late.isRetryable)
        // The harness runs the attempt as the runtime does: a missed deadline is the action's timeout.
        #expect(late.timedOut)
        #expect("\(late.error.map { "\($0)" } ?? "")" == "the action did not finish within its timeout of 100ms")
    }

    @Test("a rendered URL or header that is not valid fails for good without a request")
    func renderedProblems() async throws {
        let harness = HandlerHarness()
        let url = try harness.build(Webhook.self, ["url": "${target}"])
        let badURL = await harness.invoke(
            url, HarnessMessage(output: ["a": 1], payload: ["target": "file:///etc/passwd"]))
        #expect(badURL.permanentError?.description.contains("'url' is not an http:// or https:// URL") == true)

        let header = try harness.build(Webhook.self, ["url": "https://h.example", "headers": ["X-Note": "${note}"]])
        let injected = await harness.invoke(
            header, HarnessMessage(output: ["a": 1], payload: ["note": "a\r\nX-Admin: true"]))
        #expect(
            injected.permanentError?.description
                == "webhook: the rendered header 'X-Note' contains a line break or control character")
        #expect(harness.http.requests.isEmpty)
    }

    @Test(
        "a fixed url must be http(s) with a host",
        arguments: [
            "ftp://example.com", "https://", "example.com/hook", "https://user:pw@example.com", "http://h:99999",
            "https://exa mple.com",
        ])
    func invalidURL(url: String) {
        let problems = HandlerHarness().rejection(Webhook.self, ["url": ConfigValue(stringLiteral: url)])
        #expect(problems.map(\.message) == ["'url' must be an http:// or https:// URL with a host"])
    }

    @Test("configuration errors name the key and say how to fix it")
    func configErrors() {
        let harness = HandlerHarness()
        #expect(
            harness.rejection(Webhook.self, ["method": "POST"]).map(\.message) == ["'webhook' needs 'url' under 'with'"]
        )
        let unknown = harness.rejection(Webhook.self, ["url": "https://h.example", "header": ["A": "b"]])
        #expect(unknown.first?.diagnostic.help == "did you mean 'headers'?")
        #expect(
            harness.rejection(Webhook.self, ["url": "https://h.example", "method": "GET"]).map(\.message) == [
                "'method' must be POST or PUT"
            ])
        #expect(
            harness.rejection(Webhook.self, ["url": "https://h.example", "headers": ["Content-Type": "text/plain"]])
                .map(\.message) == ["set the content type with 'content_type', not in 'headers'"])
        #expect(
            harness.rejection(Webhook.self, ["url": "https://h.example", "headers": ["Bad Header": "x"]]).map(\.message)
                == ["'Bad Header' is not a valid HTTP header name"])
        #expect(
            harness.rejection(Webhook.self, ["url": "https://h.example", "headers": ["Host": "x"]]).map(\.message) == [
                "the header 'Host' is set by Signalbox"
            ])
        #expect(
            harness.rejection(Webhook.self, ["url": "https://h.example", "headers": ["X-Count": 3]]).map(\.message) == [
                "the value of header 'X-Count' must be a string, found an integer"
            ])
        #expect(
            harness.rejection(Webhook.self, ["url": "https://h.example", "headers": "x"]).map(\.message) == [
                "'headers' must be a mapping of names to values"
            ])
        #expect(
            harness.rejection(Webhook.self, ["url": "https://h.example", "body": 3]).map(\.message) == [
                "'body' must be a string (a template) or a mapping, found an integer"
            ])
        #expect(harness.rejection(Webhook.self, ["url": "https://h.example/${topic(2)}", "method": "put"]).isEmpty)
    }

    @Test(
        "URLs are parsed into scheme, host, port and the rest",
        arguments: [
            ("https://api.twilio.com", "https", "api.twilio.com", nil, ""),
            ("HTTP://127.0.0.1:8080/a?b=c", "http", "127.0.0.1", 8080, "/a?b=c"),
            ("http://[::1]:9/x", "http", "[::1]", 9, "/x"),
            ("https://h.example?q", "https", "h.example", nil, "?q"),
        ] as [(String, String, String, Int?, String)])
    func endpoints(url: String, scheme: String, host: String, port: Int?, rest: String) throws {
        let endpoint = try #require(HTTPEndpoint(url))
        #expect(endpoint == HTTPEndpoint(scheme: scheme, host: host, port: port, rest: rest))
    }
}
