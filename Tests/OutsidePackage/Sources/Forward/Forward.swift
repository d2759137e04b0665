import Logging
import SignalboxCore
import SignalboxJSON

/// Posts each rule output, as JSON, to a fixed `https://` address, with the invocation's
/// idempotency key as a header so the receiver can drop repeats, and the time it was sent.
///
/// ```yaml
/// actions:
///   - function: forward
///     with: { url: "https://collector.example/readings", label: "fridge-${device}" }
/// ```
///
/// 429 and 5xx answers are retried by the runtime; other refusals fail the action for good.
public struct Forward: HandlerFunction {
    public static let name = "forward"

    let url: String
    let http: any HTTPClient
    let now: @Sendable () -> Int64

    public init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
        try config.allowKeys(["url", "label"])
        try config.requireKeys(["url"])
        guard let url = try config.constantString("url"), url.hasPrefix("https://") else {
            throw config.error(at: "url", "'url' must be a constant https:// address")
        }
        _ = try config.isString("label")
        self.url = url
        self.http = services.http
        self.now = services.now
    }

    public func invoke(_ invocation: Invocation) async throws {
        var headers = [
            OutgoingHTTPRequest.HeaderField("content-type", "application/json"),
            OutgoingHTTPRequest.HeaderField("idempotency-key", invocation.idempotencyKey),
            OutgoingHTTPRequest.HeaderField("x-sent-at-ms", String(now())),
        ]
        if case .object(let config) = invocation.config, case .string(let label)? = config["label"] {
            headers.append(OutgoingHTTPRequest.HeaderField("x-label", label))
        }
        let response = try await http.send(
            OutgoingHTTPRequest(url: url, headers: headers, body: invocation.outputJSONText),
            deadline: invocation.deadline)
        try HTTPStatusError.check(response.status, service: "the collector", retrying: [429])
        invocation.logger.debug("forwarded", metadata: ["http.status": "\(response.status)"])
    }
}
