import Logging
import SignalboxJSON
import SignalboxSQL

/// A handler function: what an action of a rule runs (`persist`, `notify-sms`, `shadow-update`, …).
///
/// A handler is built once per action when a rules file loads, from the action's `with:`
/// configuration, which it validates in its initializer (a bad configuration rejects the whole
/// file). It is then invoked for every message the rule matches, with the SELECT output.
///
/// Handlers live in the `Functions/` folder, one file each, and are registered by one line in
/// `Functions/Registry.swift`:
/// ```swift
/// struct Log: HandlerFunction {
///     static let name = "log"
///     let level: Logger.Level
///
///     init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
///         try config.allowKeys(["level"])
///         level = try config.constantString("level").flatMap(Logger.Level.init(rawValue:)) ?? .info
///     }
///
///     func invoke(_ invocation: Invocation) async throws {
///         invocation.logger.log(level: level, "rule matched")
///     }
/// }
/// ```
///
/// Delivery is at least once: after a crash, or when an attempt fails and is retried, a handler
/// may see the same invocation again. ``Invocation/idempotencyKey`` is the same every time.
public protocol HandlerFunction: Sendable {
    /// The name rules use in `function:`: lowercase letters, digits and `-`.
    static var name: String { get }

    /// Validates `config` (the action's `with:`) and builds the handler.
    ///
    /// - Throws: ``HandlerConfigError`` naming the bad key and why; it is reported at the key's
    ///   line and column.
    init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError)

    /// The most invocations that may run at the same time for one action; 8 by default.
    var concurrency: Int { get }

    /// Handles one invocation; throwing fails the attempt (it is retried per the action's policy).
    /// Return before ``Invocation/deadline``; the call is cancelled when it passes.
    func invoke(_ invocation: Invocation) async throws
}

extension HandlerFunction {
    public var concurrency: Int { 8 }
}

/// A handler that handles many invocations in one call (like `persist`, one transaction per batch).
public protocol BatchingHandlerFunction: HandlerFunction {
    /// The most invocations passed to one ``invoke(batch:)``.
    var maxBatchSize: Int { get }

    /// Handles `batch`, in order; throwing fails every invocation of it.
    func invoke(batch: [Invocation]) async throws
}

extension BatchingHandlerFunction {
    public var maxBatchSize: Int { 512 }

    public func invoke(_ invocation: Invocation) async throws {
        try await invoke(batch: [invocation])
    }
}

/// What one invocation of a handler gets: the SELECT output, the configuration rendered for the
/// message, the message's metadata, the rule, an idempotency key and a deadline.
///
/// Its parts live in one shared box (``deadline`` and ``attempt`` aside), so copying an invocation
/// as it moves through queues costs one retain; setting a part copies the box.
public struct Invocation: Sendable {
    // Inlinable parts: the runtime, in another module, reads them once or more per invocation.
    @usableFromInline struct Parts: Sendable {
        @usableFromInline var message: MessageMetadata
        @usableFromInline var outputValue: Output?
        @usableFromInline var outputDocument: [UInt8]?
        @usableFromInline var config: Value
        @usableFromInline var source: ActionSource
        @usableFromInline var idempotencyKey: String
        @usableFromInline var baseLogger: Logger

        @usableFromInline init(
            message: MessageMetadata, outputValue: Output?, outputDocument: [UInt8]?, config: Value,
            source: ActionSource, idempotencyKey: String, baseLogger: Logger
        ) {
            self.message = message
            self.outputValue = outputValue
            self.outputDocument = outputDocument
            self.config = config
            self.source = source
            self.idempotencyKey = idempotencyKey
            self.baseLogger = baseLogger
        }
    }

    @usableFromInline final class Box: Sendable {
        @usableFromInline let parts: Parts
        @usableFromInline init(_ parts: Parts) { self.parts = parts }
    }

    @usableFromInline var box: Box

    @usableFromInline mutating func update(_ change: (inout Parts) -> Void) {
        var parts = box.parts
        change(&parts)
        box = Box(parts)
    }

    /// The message that matched.
    @inlinable public var message: MessageMetadata {
        get { box.parts.message }
        set { update { $0.message = newValue } }
    }
    /// The rule's SELECT output (for an error action: the failure, in AWS's `errorAction` shape).
    public var output: Output {
        get {
            if let value = box.parts.outputValue { return value }
            let document = box.parts.outputDocument ?? []
            return (try? JSONParser.parse(document)).map(Output.json) ?? .binary(document)
        }
        set {
            update {
                $0.outputValue = newValue
                $0.outputDocument = nil
            }
        }
    }
    /// The output's JSON text when the runtime has it without building the output: for `SELECT *`
    /// over a JSON payload, the payload as received. ``output`` decodes it on each read.
    @inlinable public var outputDocument: [UInt8]? { box.parts.outputDocument }
    /// The action's `with:` tree, its templates rendered against the message.
    @inlinable public var config: Value {
        get { box.parts.config }
        set { update { $0.config = newValue } }
    }
    /// The rule and the action.
    @inlinable public var source: ActionSource {
        get { box.parts.source }
        set { update { $0.source = newValue } }
    }
    /// The same for every attempt and every replay of this message, rule and action:
    /// `"{message id}/{rule}/{action index}"` (`e` for the error action).
    @inlinable public var idempotencyKey: String {
        get { box.parts.idempotencyKey }
        set { update { $0.idempotencyKey = newValue } }
    }
    /// When the attempt times out (the action's `timeout`).
    public var deadline: ContinuousClock.Instant
    /// The attempt, from 1.
    public var attempt: Int

    /// How long an attempt may take unless the action sets `timeout`: 30 seconds.
    public static let defaultTimeout: Duration = .seconds(30)
    /// The logger the runtime logs through; ``logger`` adds the invocation's metadata.
    @inlinable public var baseLogger: Logger {
        get { box.parts.baseLogger }
        set { update { $0.baseLogger = newValue } }
    }

    /// Bundles an invocation.
    @inlinable public init(
        message: MessageMetadata, output: Output, config: Value, source: ActionSource, idempotencyKey: String,
        deadline: ContinuousClock.Instant, attempt: Int = 1, baseLogger: Logger
    ) {
        box = Box(
            Parts(
                message: message, outputValue: output, outputDocument: nil, config: config, source: source,
                idempotencyKey: idempotencyKey, baseLogger: baseLogger))
        self.deadline = deadline
        self.attempt = attempt
    }

    /// An invocation whose output is the JSON document `document` (valid JSON, not checked again).
    @inlinable public init(
        message: MessageMetadata, outputDocument document: [UInt8], config: Value, source: ActionSource,
        idempotencyKey: String, deadline: ContinuousClock.Instant, attempt: Int = 1, baseLogger: Logger
    ) {
        box = Box(
            Parts(
                message: message, outputValue: nil, outputDocument: document, config: config, source: source,
                idempotencyKey: idempotencyKey, baseLogger: baseLogger))
        self.deadline = deadline
        self.attempt = attempt
    }

    /// The output's JSON text: ``outputDocument`` when known, else the output serialized (a binary
    /// output as a base64 string).
    public var outputJSONText: [UInt8] {
        outputDocument ?? JSONSerializer.bytes(outputJSON)
    }

    /// A logger with `rule.name`, `device.id`, `message.id` and `action.function` set.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "rule.name"] = "\(source.rule)"
        logger[metadataKey: "rule_set.version"] = "\(source.ruleSetVersion)"
        logger[metadataKey: "action.function"] = "\(source.function)"
        logger[metadataKey: "device.id"] = "\(message.device)"
        logger[metadataKey: "message.id"] = "\(message.id)"
        return logger
    }

    /// The output as a JSON value; a binary output is a base64 string.
    public var outputJSON: Value {
        switch output {
        case .json(let value): value
        case .binary(let bytes): .string(Base64.encode(bytes))
        }
    }
}

/// What an invocation knows of the message that caused it.
public struct MessageMetadata: Sendable, Hashable {
    /// The journal id: unique, increasing in arrival order.
    public var id: Int64
    /// The topic.
    public var topic: String
    /// The device key the message was ordered by (see `devices.key_level` in rules.yaml).
    public var device: String
    /// When Signalbox received it, in milliseconds since the Unix epoch.
    public var receivedAt: Int64
    /// The MQTT client id of the publisher, if any.
    public var clientID: String?
    /// The gateway whose token published it over HTTP, if any.
    public var gateway: String?

    /// Bundles metadata.
    public init(
        id: Int64, topic: String, device: String, receivedAt: Int64, clientID: String? = nil, gateway: String? = nil
    ) {
        self.id = id
        self.topic = topic
        self.device = device
        self.receivedAt = receivedAt
        self.clientID = clientID
        self.gateway = gateway
    }
}

/// Which rule and action an invocation belongs to.
public struct ActionSource: Sendable, Hashable {
    /// The rule's name.
    public var rule: String
    /// The version of the rule set that evaluated the message.
    public var ruleSetVersion: Int
    /// The action's position in the rule (0-based); nil for the error action.
    public var actionIndex: Int?
    /// The handler function's name.
    public var function: String

    /// Bundles a source.
    public init(rule: String, ruleSetVersion: Int, actionIndex: Int?, function: String) {
        self.rule = rule
        self.ruleSetVersion = ruleSetVersion
        self.actionIndex = actionIndex
        self.function = function
    }

    /// `"0"`, `"1"`, … or `"e"` for the error action: the last part of an idempotency key.
    public var actionTag: String { actionIndex.map(String.init) ?? "e" }

    /// What follows the message id in this action's idempotency keys: `"/{rule}/{action tag}"`.
    public var idempotencyKeySuffix: String { "/\(rule)/\(actionTag)" }

    /// This action's idempotency key for message `messageID`: `"{message id}/{rule}/{action tag}"`,
    /// the same at every attempt, replay and dead-letter retry.
    public func idempotencyKey(messageID: Int64) -> String { String(messageID) + idempotencyKeySuffix }
}

/// The services a handler may use, given when it is built.
public struct HandlerServices: Sendable {
    /// The device shadows (for `shadow-update`, and `get_shadow()` in rules).
    package var shadows: any ShadowDocuments
    /// Tables of persisted records (for `persist`).
    package var records: any RecordStorage
    /// Outgoing HTTP (for `notify-sms`, `webhook`).
    public var http: any HTTPClient
    /// Where republished messages go: the broker once connected, ingest otherwise.
    public var publisher: any MessagePublisher
    /// Milliseconds since the Unix epoch.
    public var now: @Sendable () -> Int64
    /// The runtime's logger.
    public var logger: Logger
    /// Deployed functions (for `lambda`, and `aws_lambda()` in rules); nil where none are hosted.
    package var functions: (any FunctionInvoker)?

    /// Bundles services.
    package init(
        shadows: any ShadowDocuments, records: any RecordStorage, http: any HTTPClient, publisher: any MessagePublisher,
        now: @escaping @Sendable () -> Int64 = WallClock.system.milliseconds,
        logger: Logger = Logger(label: "signalbox.handlers"), functions: (any FunctionInvoker)? = nil
    ) {
        self.shadows = shadows
        self.records = records
        self.http = http
        self.publisher = publisher
        self.now = now
        self.logger = logger
        self.functions = functions
    }
}

/// A failed invocation whose failure is permanent: retrying cannot help (a 4xx from a provider,
/// a payload the handler cannot store). The runtime skips the remaining attempts.
public struct PermanentHandlerError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, without payload values.
    public var description: String

    /// An error.
    public init(_ description: String) { self.description = description }
}
