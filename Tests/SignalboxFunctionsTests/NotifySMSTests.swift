import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxTesting
import Testing

@testable import SignalboxFunctions

@Suite("notify-sms")
struct NotifySMSTests {
    /// A Twilio configuration; `extra` entries are added (or replace) at the end.
    static func twilio(_ extra: [(String, ConfigValue)] = []) -> ConfigValue {
        var entries: [(String, ConfigValue)] = [
            ("to", "+15550100"), ("body", "Fridge ${topic(2)} is at ${temp} C & rising"), ("from", "+15550199"),
            ("account", "AC0123456789abcdef"), ("auth_token", "s3cret"),
        ]
        for (key, value) in extra {
            entries.removeAll { $0.0 == key }
            entries.append((key, value))
        }
        return ConfigValue(.map(entries.map { ConfigValue.Entry(key: LocatedString($0.0), value: $0.1) }))
    }

    static let message = HarnessMessage(output: ["temp": 9.5], topic: "fridges/f1/telemetry")

    @Test("the request is Twilio's Messages API call: URL, Basic auth and form fields exactly")
    func request() async throws {
        let harness = HandlerHarness()
        harness.http.enqueue(.status(201, body: #"{"sid": "SM1", "status": "queued"}"#))
        let sms = try harness.build(NotifySMS.self, Self.twilio())
        let outcome = await harness.invoke(sms, Self.message)
        #expect(outcome.succeeded)
        let request = try #require(outcome.requests.first)
        #expect(outcome.requests.count == 1)
        #expect(request.method == "POST")
        #expect(request.url == "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef/Messages.json")
        #expect(
            request.headers == [
                .init("Authorization", "Basic " + Base64.encode(Array("AC0123456789abcdef:s3cret".utf8))),
                .init("Content-Type", "application/x-www-form-urlencoded"),
                .init("Accept", "application/json"),
            ])
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == "To=%2B15550100&From=%2B15550199&Body=Fridge+f1+is+at+9.5+C+%26+rising")
    }

    @Test("base_url points at another Twilio-compatible provider")
    func baseURL() async throws {
        let harness = HandlerHarness()
        let sms = try harness.build(NotifySMS.self, Self.twilio([("base_url", "http://127.0.0.1:8080/sms/")]))
        let outcome = await harness.invoke(sms, Self.message)
        #expect(
            outcome.requests.map(\.url) == [
                "http://127.0.0.1:8080/sms/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
            ])
    }

    @Test("the number can come from the device's shadow")
    func numberFromShadow() async throws {
        let harness = HandlerHarness()
        _ = try await harness.shadows.update(
            ShadowKey(thing: "f1"), body: Array(#"{"state": {"desired": {"alertPhone": "+15550123"}}}"#.utf8))
        let sms = try harness.build(
            NotifySMS.self, Self.twilio([("to", "${get_shadow(topic(2)).state.desired.alertPhone}")]))
        let outcome = await harness.invoke(sms, Self.message)
        #expect(outcome.succeeded)
        #expect(String(decoding: try #require(outcome.requests.first).body, as: UTF8.self).hasPrefix("To=%2B15550123&"))

        // A fridge whose shadow has no alertPhone: no request, a permanent failure that says why.
        let missing = await harness.invoke(sms, HarnessMessage(output: ["temp": 9.5], topic: "fridges/f2/telemetry"))
        #expect(missing.requests.isEmpty)
        #expect(missing.permanentError?.description.contains("'to' rendered empty") == true)
    }

    @Test(
        "2xx succeeds; 408, 429 and 5xx are retried; other statuses fail for good",
        arguments: [
            (200, "ok"), (201, "ok"), (204, "ok"), (408, "retry"), (429, "retry"), (500, "retry"), (502, "retry"),
            (503, "retry"), (400, "permanent"), (401, "permanent"), (403, "permanent"), (404, "permanent"),
            (301, "permanent"),
        ])
    func statuses(status: Int, expected: String) async throws {
        let harness = HandlerHarness()
        harness.http.enqueue(.status(status))
        let outcome = await harness.invoke(try harness.build(NotifySMS.self, Self.twilio()), Self.message)
        switch expected {
        case "ok": #expect(outcome.succeeded)
        case "retry":
            #expect(outcome.isRetryable)
            #expect("\(try #require(outcome.error))" == "the SMS provider answered HTTP \(status)")
        default:
            #expect(outcome.permanentError?.description == "the SMS provider refused the request: HTTP \(status)")
        }
    }

    @Test("a 4xx names Twilio's error code, never the text of Twilio's message")
    func errorCode() async throws {
        let harness = HandlerHarness()
        harness.http.enqueue(
            .status(
                400,
                body: #"{"code": 21211, "message": "The 'To' number +15550100 is not a valid phone number.", "#
                    + #""more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#))
        let outcome = await harness.invoke(try harness.build(NotifySMS.self, Self.twilio()), Self.message)
        let error = try #require(outcome.permanentError)
        #expect(error.description == "the SMS provider refused the request: HTTP 400, Twilio error 21211")
    }

    @Test("a transport failure or a provider that never answers is retried")
    func transportFailures() async throws {
        struct ConnectionRefused: Error {}
        let harness = HandlerHarness()
        let sms = try harness.build(NotifySMS.self, Self.twilio())
        harness.http.enqueue(.failure(ConnectionRefused()), .noResponse)
        #expect(await harness.invoke(sms, Self.message).error is ConnectionRefused)
        let clock = ContinuousClock()
        let start = clock.now
        let silent = await harness.invoke(sms, Self.message, timeout: .milliseconds(200))
        #expect(silent.isRetryable)
        // Bounded by the 200 ms timeout, not the default 30 s (loosely: the suite shares two cores).
        #expect(clock.now - start < .seconds(20))
    }

    @Test("an empty body or sender fails for good without a request")
    func emptyFields() async throws {
        let harness = HandlerHarness()
        let noBody = try harness.build(NotifySMS.self, Self.twilio([("body", "${missing}")]))
        let outcome = await harness.invoke(noBody, Self.message)
        #expect(outcome.permanentError?.description == "notify-sms: 'body' rendered empty; there is no message to send")
        let noSender = try harness.build(NotifySMS.self, Self.twilio([("from", "${missing}")]))
        #expect(await harness.invoke(noSender, Self.message).permanentError != nil)
        #expect(harness.http.requests.isEmpty)
    }

    @Test("provider: log logs that a message would be sent, with its length but not its number or text")
    func logProvider() async throws {
        let harness = HandlerHarness(ruleName: "fridge-too-warm")
        let sms = try harness.build(
            NotifySMS.self, ["provider": "log", "to": "+15550100", "body": "Fridge ${topic(2)} is at ${temp} C"])
        let outcome = await harness.invoke(sms, Self.message)
        #expect(outcome.succeeded)
        #expect(outcome.requests.isEmpty)
        let line = try #require(outcome.logs.first { $0.message == "SMS would be sent" })
        #expect(line.level == .notice)
        #expect(line.metadata["sms.length"] == "\("Fridge f1 is at 9.5 C".count)")
        #expect(line.metadata["rule.name"] == "fridge-too-warm")
        #expect(line.metadata["device.id"] == "f1")
        for entry in harness.logs.entries {
            #expect(!entry.allText.contains("5550100"))
            #expect(!entry.allText.contains("9.5"))
        }
    }

    @Test("without account or auth_token, twilio refuses to load and says to set the variables or use the log provider")
    func missingCredentials() throws {
        let harness = HandlerHarness()
        var config = Self.twilio()
        config = ConfigValue(.map(try #require(config.entries).filter { $0.key.value != "account" }))
        let missing = harness.rejection(NotifySMS.self, config)
        #expect(missing.map(\.message) == ["'notify-sms' needs 'account' (the Twilio account SID) to send messages"])
        #expect(missing.first?.diagnostic.help?.contains("${env:SMS_ACCOUNT}") == true)
        #expect(missing.first?.diagnostic.help?.contains("'provider: log'") == true)
        let neither = harness.rejection(
            NotifySMS.self, ["to": "+15550100", "body": "hot", "from": "+15550199"])
        #expect(
            neither.map(\.message) == [
                "'notify-sms' needs 'account' (the Twilio account SID) to send messages",
                "'notify-sms' needs 'auth_token' (the Twilio auth token) to send messages",
            ])

        // `auth_token: "${env:SMS_AUTH_TOKEN:-}"` with the variable unset: the value is empty.
        let written = "${env:SMS_AUTH_TOKEN:-}"
        let substituted = LocatedString(
            "", source: SourceText(name: "rules.yaml", text: written),
            substitutions: [
                .init(
                    variable: "SMS_AUTH_TOKEN", sourceRange: SourceRange(start: 0, end: written.utf8.count),
                    valueRange: SourceRange(at: 0))
            ])
        let empty = harness.rejection(NotifySMS.self, Self.twilio([("auth_token", ConfigValue(.string(substituted)))]))
        #expect(
            empty.map(\.message) == [
                "'auth_token' (the Twilio auth token) is empty: environment variable 'SMS_AUTH_TOKEN' is empty or not set"
            ])
        #expect(empty.first?.diagnostic.range == SourceRange(start: 0, end: written.utf8.count))
        #expect(empty.first?.diagnostic.help?.contains("'provider: log'") == true)

        // The log provider needs no credentials and no sender.
        #expect(harness.rejection(NotifySMS.self, ["provider": "log", "to": "x", "body": "y"]).isEmpty)
    }

    @Test("configuration errors name the key and say how to fix it")
    func configErrors() throws {
        let harness = HandlerHarness()
        let provider = harness.rejection(NotifySMS.self, Self.twilio([("provider", "twillio")]))
        #expect(provider.map(\.message) == ["unknown SMS provider 'twillio'"])
        #expect(provider.first?.diagnostic.help == "did you mean 'twilio'?")
        #expect(
            harness.rejection(NotifySMS.self, ["account": "AC1", "auth_token": "t"]).map(\.message) == [
                "'notify-sms' needs 'to' and 'body' and 'from' under 'with'"
            ])
        #expect(
            harness.rejection(NotifySMS.self, ["provider": "log", "to": "+1"]).map(\.message) == [
                "'notify-sms' needs 'body' under 'with'"
            ])
        let unknown = harness.rejection(NotifySMS.self, Self.twilio([("auth-token", "x")]))
        #expect(unknown.first?.diagnostic.help == "did you mean 'auth_token'?")
        #expect(
            harness.rejection(NotifySMS.self, Self.twilio([("base_url", "ftp://example.com")])).map(\.message) == [
                "'base_url' must be an http:// or https:// URL with a host"
            ])
        #expect(
            harness.rejection(NotifySMS.self, Self.twilio([("account", "${topic(1)}")])).map(\.message) == [
                "'account' must be fixed text; it cannot use ${…}"
            ])
        #expect(
            harness.rejection(NotifySMS.self, Self.twilio([("to", 15_550_100)])).map(\.message) == [
                "'to' must be a string, found an integer"
            ])
    }

    @Test("form fields are encoded as application/x-www-form-urlencoded")
    func formEncoding() {
        #expect(FormEncoding.encode([("Body", "a b&c=d+e/é*~")]) == "Body=a+b%26c%3Dd%2Be%2F%C3%A9*%7E")
        #expect(FormEncoding.percentEncode("AC 1/2") == "AC%201%2F2")
    }
}
