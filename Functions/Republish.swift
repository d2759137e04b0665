import SignalboxCore
import SignalboxJSON
import SignalboxSQL

/// `republish`: publishes the SELECT output to another topic: through the broker when Signalbox is
/// connected to one (the invocation succeeds once the broker acknowledged it; rules whose FROM
/// matches get it back from the broker), otherwise straight back into ingest, so other rules see it.
///
/// ```yaml
/// - function: republish
///   with: { topic: "alerts/${topic(4)}/too-warm" }
/// ```
///
/// The payload is the output's bytes: compact JSON, or the bytes of a binary output. The topic must
/// be a valid topic to publish to (no wildcards, at most 8 levels, 256 bytes) and may not be one of
/// the reserved `$aws/…` or `$signalbox/…` topics; a rendered topic that breaks these rules fails
/// the invocation for good. A rule that republishes to a topic its own FROM matches loops forever:
/// don't.
struct Republish: HandlerFunction {
    static let name = "republish"

    /// Topic prefixes that only Signalbox itself publishes to.
    static let reservedPrefixes = ["$aws/", "$signalbox/"]

    /// Where the messages go.
    let publisher: any MessagePublisher

    init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
        try config.allowKeys(["topic"])
        try config.requireKeys(["topic"])
        _ = try config.isString("topic")
        if case .string(let template)? = config.template("topic"), template.isConstant,
            let topic = config.value("topic")?.string, let problem = Self.problem(with: topic)
        {
            throw config.error(at: "topic", "'topic' is not a topic to republish to: \(problem)")
        }
        self.publisher = services.publisher
    }

    func invoke(_ invocation: Invocation) async throws {
        guard case .string(let topic)? = invocation.config["topic"] else {
            throw PermanentHandlerError("republish: 'topic' did not render to text")
        }
        if let problem = Self.problem(with: topic) {
            throw PermanentHandlerError("republish: the rendered topic is not a topic to republish to: \(problem)")
        }
        do {
            try await publisher.deliver([OutgoingMessage(topic: topic, payload: invocation.output.bytes)])
        } catch let error as UndeliverableMessage {
            throw PermanentHandlerError("republish: the message cannot be published: \(error.reason)")
        }
    }

    /// Why `topic` cannot be republished to, or nil when it can.
    static func problem(with topic: String) -> String? {
        if let reserved = reservedPrefixes.first(where: { topic.hasPrefix($0) }) {
            return "topics starting with '\(reserved)' are reserved for Signalbox"
        }
        do {
            try TopicName.validate(topic)
        } catch {
            return error.message
        }
        return nil
    }
}
