import Logging
import SignalboxCore
import SignalboxJSON

/// `log`: writes one log line per invocation, with the rule, device and message id — never the
/// payload, unless the action says `payload: true`.
///
/// ```yaml
/// - function: log
///   with: { level: notice, message: "fridge ${topic(4)} reported" }
/// ```
struct Log: HandlerFunction {
    static let name = "log"

    /// The level of the line.
    let level: Logger.Level
    /// Whether the SELECT output is added to the line (off by default: payload values stay out of logs).
    let includesPayload: Bool

    init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
        try config.allowKeys(["level", "message", "payload"])
        if let text = try config.constantString("level") {
            guard let level = Logger.Level(rawValue: text) else {
                throw config.error(
                    at: "level", "unknown log level '\(text)'",
                    help: "use trace, debug, info, notice, warning, error or critical")
            }
            self.level = level
        } else {
            self.level = .info
        }
        _ = try config.isString("message")
        includesPayload = try config.bool("payload") ?? false
    }

    func invoke(_ invocation: Invocation) async throws {
        var text = "rule matched"
        if case .string(let message)? = invocation.config["message"] { text = message }
        var metadata: Logger.Metadata = ["message.topic": "\(invocation.message.topic)"]
        if includesPayload {
            metadata["payload"] = "\(String(decoding: invocation.output.bytes, as: UTF8.self))"
        }
        invocation.logger.log(level: level, "\(text)", metadata: metadata)
    }
}
