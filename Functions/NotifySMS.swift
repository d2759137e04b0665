import SignalboxCore
import SignalboxJSON
import SignalboxSQL

/// `notify-sms`: sends a text message through a Twilio-compatible Messages API, or only logs that
/// it would (`provider: log`).
///
/// ```yaml
/// - function: notify-sms
///   with:
///     to: "${get_shadow(topic(4)).state.desired.alertPhone}"
///     body: "Fridge ${topic(4)} is at ${temp} C"
///     from: "${env:SMS_FROM}"
///     account: "${env:SMS_ACCOUNT}"
///     auth_token: "${env:SMS_AUTH_TOKEN}"
/// ```
///
/// The request is `POST {base_url}/2010-04-01/Accounts/{account}/Messages.json` with the form
/// fields `To`, `From` and `Body` and HTTP Basic authentication (`account:auth_token`). A 2xx
/// answer (Twilio sends 201) is success; 408, 429, 5xx and transport failures are retried; any
/// other status fails for good, naming the status and Twilio's error `code`. Numbers and message
/// text never appear in logs or errors.
struct NotifySMS: HandlerFunction {
    static let name = "notify-sms"

    /// Where the messages go.
    enum Provider: Sendable, Hashable {
        /// A Twilio-compatible Messages API.
        case twilio(endpoint: String, authorization: String)
        /// Nowhere: a log line says a message would have been sent.
        case log
    }

    /// The Twilio API's base URL when `base_url` is not given.
    static let defaultBaseURL = "https://api.twilio.com"

    let provider: Provider
    let http: any HTTPClient

    init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
        try config.allowKeys(["to", "body", "from", "account", "auth_token", "base_url", "provider"])
        let providerName = try config.constantString("provider") ?? "twilio"
        guard providerName == "twilio" || providerName == "log" else {
            let help = Suggestion.closest(to: providerName, in: ["twilio", "log"]).map { "did you mean '\($0)'?" }
            throw config.error(
                at: "provider", "unknown SMS provider '\(providerName)'", help: help ?? "use 'twilio' or 'log'")
        }
        try config.requireKeys(providerName == "log" ? ["to", "body"] : ["to", "body", "from"])
        for key in ["to", "body", "from"] { _ = try config.isString(key) }
        self.http = services.http
        guard providerName == "twilio" else {
            self.provider = .log
            return
        }
        // Both credentials are checked, so one load reports both when both are missing.
        let account = Result { () throws(HandlerConfigError) in
            try Self.credential("account", variable: "SMS_ACCOUNT", what: "account SID", config: config)
        }
        let token = Result { () throws(HandlerConfigError) in
            try Self.credential("auth_token", variable: "SMS_AUTH_TOKEN", what: "auth token", config: config)
        }
        guard case .success(let account) = account, case .success(let token) = token else {
            let problems = [account, token].flatMap { result -> [LocatedDiagnostic] in
                if case .failure(let error) = result { return error.diagnostics }
                return []
            }
            throw HandlerConfigError(problems)
        }
        var base = try config.constantString("base_url") ?? Self.defaultBaseURL
        guard HTTPEndpoint(base) != nil else {
            throw config.error(
                at: "base_url", "'base_url' must be an http:// or https:// URL with a host",
                help: "for example \(Self.defaultBaseURL)")
        }
        while base.hasSuffix("/") { base.removeLast() }
        let encodedAccount = FormEncoding.percentEncode(account)
        self.provider = .twilio(
            endpoint: "\(base)/2010-04-01/Accounts/\(encodedAccount)/Messages.json",
            authorization: "Basic " + Base64.encode(Array("\(account):\(token)".utf8)))
    }

    func invoke(_ invocation: Invocation) async throws {
        let to = Self.rendered("to", in: invocation.config)
        let body = Self.rendered("body", in: invocation.config)
        guard !to.allSatisfy(\.isWhitespace) else {
            throw PermanentHandlerError(
                "notify-sms: 'to' rendered empty, so there is no number to send to (is the value it reads missing?)")
        }
        guard !body.isEmpty else {
            throw PermanentHandlerError("notify-sms: 'body' rendered empty; there is no message to send")
        }
        switch provider {
        case .log:
            invocation.logger.notice(
                "SMS would be sent",
                metadata: [
                    "sms.provider": "log", "sms.length": "\(body.count)",
                    "message.topic": "\(invocation.message.topic)",
                ])
        case .twilio(let endpoint, let authorization):
            let from = Self.rendered("from", in: invocation.config)
            guard !from.allSatisfy(\.isWhitespace) else {
                throw PermanentHandlerError("notify-sms: 'from' rendered empty; there is no sender to send from")
            }
            let form = FormEncoding.encode([
                ("To", to.trimmingWhitespace), ("From", from.trimmingWhitespace), ("Body", body),
            ])
            let request = OutgoingHTTPRequest(
                method: "POST", url: endpoint,
                headers: [
                    .init("Authorization", authorization),
                    .init("Content-Type", "application/x-www-form-urlencoded"),
                    .init("Accept", "application/json"),
                ],
                body: Array(form.utf8))
            let response = try await http.send(request, deadline: invocation.deadline)
            try HTTPStatusError.check(
                response.status, service: "the SMS provider", retrying: [408, 429],
                detail: Self.errorCode(in: response.body).map { "Twilio error \($0)" })
        }
    }

    /// Reads a credential that must be fixed text and not empty.
    private static func credential(_ key: String, variable: String, what: String, config: HandlerConfig)
        throws(HandlerConfigError) -> String
    {
        let help =
            "set it from the environment (\(key): \"${env:\(variable)}\", with \(variable) set where Signalbox runs), "
            + "or use 'provider: log' to log messages instead of sending them"
        guard let value = try config.constantString(key) else {
            throw config.error(at: nil, "'notify-sms' needs '\(key)' (the Twilio \(what)) to send messages", help: help)
        }
        guard value.allSatisfy(\.isWhitespace) else { return value }
        // Point at the value as written (for example `${env:SMS_ACCOUNT:-}`); it is empty, so nothing is shown.
        guard let written = config.value(key)?.stringValue else { throw config.error(at: key, "'\(key)' is empty") }
        let variables = written.substitutions.map { "'\($0.variable)'" }
        let message =
            variables.isEmpty
            ? "'\(key)' (the Twilio \(what)) is empty"
            : "'\(key)' (the Twilio \(what)) is empty: environment variable \(variables.joined(separator: ", ")) is empty or not set"
        let diagnostic = Diagnostic(
            "handler-config", message, at: SourceRange(start: 0, end: written.source.text.utf8.count), help: help)
        throw HandlerConfigError([LocatedDiagnostic(diagnostic, source: written.source, ruleName: config.ruleName)])
    }

    /// The rendered string of `key`; empty when absent.
    private static func rendered(_ key: String, in config: Value) -> String {
        if case .string(let text)? = config[key] { return text }
        return ""
    }

    /// Twilio's numeric error `code` in an error body, if there is one (the message is not read: it
    /// may quote the number).
    static func errorCode(in body: [UInt8]) -> Int64? {
        guard !body.isEmpty, let json = try? JSONParser.parse(body) else { return nil }
        switch json["code"] {
        case .int(let code)?: return code
        case .string(let text)?: return Int64(text)
        default: return nil
        }
    }
}

/// `application/x-www-form-urlencoded` bodies, as HTML forms and the Twilio API write them.
enum FormEncoding {
    /// `name=value&…`, each part encoded with ``encodeComponent(_:)``.
    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(encodeComponent($0.0))=\(encodeComponent($0.1))" }.joined(separator: "&")
    }

    /// Keeps `A-Z a-z 0-9 * - . _`, writes a space as `+` and every other UTF-8 byte as `%XX`.
    static func encodeComponent(_ text: String) -> String {
        encode(text, space: "+", keeping: Array("*-._".utf8))
    }

    /// Percent-encodes everything except `A-Z a-z 0-9 - . _ ~` (for a path segment).
    static func percentEncode(_ text: String) -> String {
        encode(text, space: "%20", keeping: Array("-._~".utf8))
    }

    private static func encode(_ text: String, space: String, keeping: [UInt8]) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                out.append(byte)
            case UInt8(ascii: " "):
                out.append(contentsOf: space.utf8)
            case _ where keeping.contains(byte):
                out.append(byte)
            default:
                out.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    /// The string without leading and trailing white space.
    fileprivate var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
