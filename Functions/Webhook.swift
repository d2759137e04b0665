import SignalboxCore
import SignalboxJSON
import SignalboxSQL

/// `webhook`: sends the SELECT output (or a templated body) to an HTTP endpoint.
///
/// ```yaml
/// - function: webhook
///   with:
///     url: "https://hooks.example.com/fridges/${topic(4)}"
///     headers: { Authorization: "Bearer ${env:HOOK_TOKEN}" }
/// ```
///
/// A 2xx answer is success; 408, 429, 5xx and transport failures (refused, reset, no answer before
/// the deadline) are retried; any other status fails the invocation for good. Redirects are not
/// followed. Every request carries an `Idempotency-Key` header with the invocation's idempotency
/// key, so a receiver can drop the repeats that at-least-once delivery may cause.
struct Webhook: HandlerFunction {
    static let name = "webhook"

    /// The headers Signalbox sets itself; `headers:` may not name them.
    static let reservedHeaders: Set<String> = ["host", "content-length", "transfer-encoding", "connection"]

    /// `POST` or `PUT`.
    let method: String
    /// Whether `body:` is written (otherwise the output is sent as JSON).
    let hasBody: Bool
    /// Outgoing HTTP.
    let http: any HTTPClient

    init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
        try config.allowKeys(["url", "method", "headers", "body", "content_type"])
        try config.requireKeys(["url"])
        _ = try config.isString("url")
        if case .string(let template)? = config.template("url"), template.isConstant,
            let url = config.value("url")?.string, HTTPEndpoint(url) == nil
        {
            throw config.error(
                at: "url", "'url' must be an http:// or https:// URL with a host",
                help: "for example https://hooks.example.com/signalbox")
        }
        let method = (try config.constantString("method") ?? "POST").uppercased()
        guard method == "POST" || method == "PUT" else {
            throw config.error(at: "method", "'method' must be POST or PUT")
        }
        _ = try config.isString("content_type")
        if let headers = config.value("headers") {
            try Self.checkHeaders(headers, config: config)
        }
        if let body = config.value("body") {
            switch body.kind {
            case .string, .map, .array: break
            default:
                throw config.error(
                    at: "body", "'body' must be a string (a template) or a mapping, found \(body.kindDescription)")
            }
        }
        self.method = method
        self.hasBody = config.value("body") != nil
        self.http = services.http
    }

    func invoke(_ invocation: Invocation) async throws {
        let config = invocation.config
        guard case .string(let url)? = config["url"], HTTPEndpoint(url) != nil else {
            throw PermanentHandlerError("webhook: the rendered 'url' is not an http:// or https:// URL with a host")
        }
        var contentType = "application/json"
        if case .string(let rendered)? = config["content_type"] { contentType = rendered }
        var headers = [OutgoingHTTPRequest.HeaderField("Content-Type", contentType)]
        if case .object(let fields)? = config["headers"] {
            for field in fields {
                guard case .string(let value) = field.value else { continue }
                headers.append(.init(field.key, value))
            }
        }
        if !headers.contains(where: { $0.name.lowercased() == "idempotency-key" }) {
            headers.append(.init("Idempotency-Key", invocation.idempotencyKey))
        }
        for header in headers where !HTTPEndpoint.isValidHeaderValue(header.value) {
            throw PermanentHandlerError(
                "webhook: the rendered header '\(header.name)' contains a line break or control character")
        }
        let body: [UInt8]
        switch config["body"] {
        case .string(let text)? where hasBody: body = Array(text.utf8)
        case let value? where hasBody: body = JSONSerializer.bytes(value)
        default: body = invocation.outputJSONText
        }
        let response = try await http.send(
            OutgoingHTTPRequest(method: method, url: url, headers: headers, body: body), deadline: invocation.deadline)
        try HTTPStatusError.check(response.status, service: "the webhook", retrying: [408, 429])
    }

    /// Checks `headers:`: a mapping of valid, non-reserved names to strings.
    private static func checkHeaders(_ headers: ConfigValue, config: HandlerConfig) throws(HandlerConfigError) {
        guard let entries = headers.entries else {
            throw config.error(at: "headers", "'headers' must be a mapping of names to values")
        }
        for entry in entries {
            let name = entry.key.value
            var problem: (String, String?)?
            if !HTTPEndpoint.isValidHeaderName(name) {
                problem = ("'\(name)' is not a valid HTTP header name", "use letters, digits and '-'")
            } else if name.lowercased() == "content-type" {
                problem = ("set the content type with 'content_type', not in 'headers'", nil)
            } else if reservedHeaders.contains(name.lowercased()) {
                problem = ("the header '\(name)' is set by Signalbox", "remove it from 'headers'")
            } else if entry.value.string == nil {
                problem = (
                    "the value of header '\(name)' must be a string, found \(entry.value.kindDescription)",
                    "quote it: \"…\""
                )
            }
            if let (message, help) = problem {
                throw HandlerConfigError([
                    entry.key.diagnostic("handler-config", message, help: help, ruleName: config.ruleName)
                ])
            }
        }
    }
}

/// An absolute `http` or `https` URL, checked before a request is sent (by `webhook` and
/// `notify-sms`).
struct HTTPEndpoint: Sendable, Hashable {
    /// `http` or `https`.
    var scheme: String
    /// The host name or address (an IPv6 address keeps its brackets).
    var host: String
    /// The port, when written.
    var port: Int?
    /// The path and query, from the first `/` or `?` on; may be empty.
    var rest: String
}

extension HTTPEndpoint {
    /// Parses `text`; nil unless it is `http(s)://host[:port][/path][?query]` without user
    /// information, spaces or control characters.
    init?(_ text: String) {
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { return nil }
        let lowered = text.lowercased()
        let scheme: String
        if lowered.hasPrefix("https://") {
            scheme = "https"
        } else if lowered.hasPrefix("http://") {
            scheme = "http"
        } else {
            return nil
        }
        let afterScheme = text.dropFirst(scheme.count + 3)
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host = Substring(authority)
        var port: Int?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else { return nil }
                port = number
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let number = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = number
        }
        if let port, !(1...65535).contains(port) { return nil }
        guard host.count > (host.hasPrefix("[") ? 2 : 0) else { return nil }
        self.scheme = scheme
        self.host = String(host)
        self.port = port
        self.rest = String(afterScheme[authorityEnd...])
    }

    /// Whether `name` is an HTTP field name (an RFC 9110 token).
    static func isValidHeaderName(_ name: String) -> Bool {
        !name.isEmpty
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"):
                    true
                default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
                }
            }
    }

    /// Whether `value` can be sent as a field value: no line breaks or other control characters
    /// except tab.
    static func isValidHeaderValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7F || $0 == UInt8(ascii: "\t") }
    }
}
