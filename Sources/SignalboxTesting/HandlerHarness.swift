import Logging
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxShadows
import Synchronization

// In-memory services and a harness, so a handler function can be tested without a server:
//
//     let harness = HandlerHarness()
//     let persist = try harness.build(Persist.self, ["table": "readings"])
//     let outcome = await harness.invoke(persist, HarnessMessage(output: ["temp": 21.5]))
//     #expect(outcome.succeeded)
//     #expect(try await harness.records.records(in: "readings", matching: RecordQuery()).count == 1)

/// A ``RecordStorage`` in memory, for tests and tools. Honours idempotency keys like the real one.
package final class InMemoryRecordStorage: RecordStorage {
    /// One call of ``insert(_:into:)``.
    package struct InsertCall: Sendable, Hashable {
        /// The table written.
        package var table: String
        /// How many rows were given (duplicates included).
        package var rows: Int
    }

    private struct State {
        var tables: [String: [StoredRecord]] = [:]
        var nextSeq: Int64 = 1
        var calls: [InsertCall] = []
        var failure: (any Error)?
    }

    private let state = Mutex(State())

    /// Creates an empty store.
    package init() {}

    package func insert(_ rows: [RecordRow], into table: String) async throws {
        try state.withLock { state in
            state.calls.append(InsertCall(table: table, rows: rows.count))
            if let failure = state.failure { throw failure }
            var stored = state.tables[table] ?? []
            var keys = Set(stored.map(\.row.idempotencyKey))
            for row in rows where keys.insert(row.idempotencyKey).inserted {
                stored.append(StoredRecord(seq: state.nextSeq, row: row))
                state.nextSeq += 1
            }
            state.tables[table] = stored
        }
    }

    package func records(in table: String, matching query: RecordQuery) async throws -> [StoredRecord] {
        state.withLock { state in
            let matching = (state.tables[table] ?? []).filter { record in
                (query.device.map { record.row.device == $0 } ?? true)
                    && (query.since.map { record.row.receivedAt >= $0 } ?? true)
                    && (query.until.map { record.row.receivedAt < $0 } ?? true)
                    && (query.after.map { record.seq > $0 } ?? true)
            }
            return Array(matching.prefix(max(0, query.limit)))
        }
    }

    package func tables() async throws -> [String] {
        state.withLock { $0.tables.keys.sorted() }
    }

    package func deleteRecords(in table: String, receivedBefore cutoff: Int64) async throws -> Int {
        state.withLock { state in
            guard let stored = state.tables[table] else { return 0 }
            let kept = stored.filter { $0.row.receivedAt >= cutoff }
            state.tables[table] = kept
            return stored.count - kept.count
        }
    }

    /// Every ``insert(_:into:)`` call so far, in order (failed ones included).
    package var insertCalls: [InsertCall] { state.withLock { $0.calls } }

    /// Every row of `table`, oldest first, without paging.
    package func rows(in table: String) -> [RecordRow] {
        state.withLock { ($0.tables[table] ?? []).map(\.row) }
    }

    /// Makes every insert throw `error` (until called again with nil), to test failures.
    package func failInserts(with error: (any Error)?) {
        state.withLock { $0.failure = error }
    }
}

/// An ``HTTPClient`` that records every request and answers from a script, for tests.
///
/// Replies are taken from the queue in order; when it is empty, the default reply answers:
/// ```swift
/// let http = RecordingHTTPClient()
/// http.enqueue(.status(500), .status(201, body: #"{"sid": "SM1"}"#))
/// ```
public final class RecordingHTTPClient: HTTPClient {
    /// What the client does with one request.
    public enum Reply: Sendable {
        /// Answers with this response.
        case response(HTTPResponseReceived)
        /// Fails as a transport error would (connection refused, reset).
        case failure(any Error)
        /// Never answers: the call waits for the deadline, then throws ``NoResponse``.
        case noResponse

        /// A response with `status` and a UTF-8 `body`.
        public static func status(_ status: Int, body: String = "") -> Reply {
            .response(HTTPResponseReceived(status: status, body: Array(body.utf8)))
        }
    }

    /// Thrown for ``Reply/noResponse`` once the deadline passes.
    public struct NoResponse: Error, CustomStringConvertible {
        public var description: String { "no response before the deadline" }
    }

    private struct State {
        var queue: [Reply] = []
        var requests: [OutgoingHTTPRequest] = []
    }

    private let state = Mutex(State())
    private let defaultReply: Reply

    /// A client answering `defaultReply` (200, empty body, unless told otherwise) when its queue is empty.
    public init(defaultReply: Reply = .status(200)) {
        self.defaultReply = defaultReply
    }

    /// Adds replies to the end of the queue.
    public func enqueue(_ replies: Reply...) {
        state.withLock { $0.queue.append(contentsOf: replies) }
    }

    /// Every request sent so far, in order.
    public var requests: [OutgoingHTTPRequest] { state.withLock { $0.requests } }

    public func send(_ request: OutgoingHTTPRequest, deadline: ContinuousClock.Instant) async throws
        -> HTTPResponseReceived
    {
        let reply = state.withLock { state in
            state.requests.append(request)
            return state.queue.isEmpty ? defaultReply : state.queue.removeFirst()
        }
        switch reply {
        case .response(let response): return response
        case .failure(let error): throw error
        case .noResponse:
            try await Task.sleep(until: deadline, clock: .continuous)
            throw NoResponse()
        }
    }
}

/// Keeps log lines in memory, so tests can check what handlers log (and that payload values stay out).
public final class LogRecorder: Sendable {
    /// One log line.
    public struct Entry: Sendable, Hashable {
        /// The level it was logged at.
        public var level: Logger.Level
        /// The message.
        public var message: String
        /// Metadata, the logger's and the call's, rendered as text.
        public var metadata: [String: String]

        /// The message and every metadata value, for "this text does not appear anywhere" checks.
        public var allText: String {
            ([message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
        }
    }

    private let recorded = Mutex<[Entry]>([])

    /// Creates an empty recorder.
    public init() {}

    /// Every line logged so far, in order.
    public var entries: [Entry] { recorded.withLock { $0 } }

    /// A logger (at `trace` level) whose lines land here.
    public func logger(label: String = "signalbox.test") -> Logger {
        var logger = Logger(label: label) { _ in Handler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ entry: Entry) {
        recorded.withLock { $0.append(entry) }
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, call in call }
            recorder.append(
                Entry(
                    level: event.level, message: event.message.description,
                    metadata: merged.mapValues { "\($0)" }))
        }
    }
}

/// A message to invoke a handler with in a ``HandlerHarness``.
public struct HarnessMessage: Sendable {
    /// The SELECT output the handler gets.
    public var output: Output
    /// The incoming message's payload, which templates (`${temp}`) read; the output when nil.
    public var payload: Value?
    /// The topic.
    public var topic: String
    /// The device key; the topic's second level (`devices/{device}/…`) when not given.
    public var device: String
    /// The journal id; the idempotency key is `"{id}/{rule}/{action index}"`.
    public var id: Int64
    /// When it was received (ms since the epoch); the harness's clock when nil.
    public var receivedAt: Int64?

    /// A message whose SELECT output is the JSON value `output`.
    public init(
        output: Value, topic: String = "devices/device-1/telemetry", device: String? = nil, id: Int64 = 1,
        payload: Value? = nil, receivedAt: Int64? = nil
    ) {
        self.init(output: .json(output), topic: topic, device: device, id: id, payload: payload, receivedAt: receivedAt)
    }

    /// A message whose SELECT output is `output` (JSON or binary).
    public init(
        output: Output, topic: String = "devices/device-1/telemetry", device: String? = nil, id: Int64 = 1,
        payload: Value? = nil, receivedAt: Int64? = nil
    ) {
        self.output = output
        self.payload = payload
        self.topic = topic
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        self.device = device ?? (levels.count > 1 ? String(levels[1]) : topic)
        self.id = id
        self.receivedAt = receivedAt
    }
}

/// A handler built by a ``HandlerHarness``, with the configuration it was built from (rendered
/// per message when it is invoked).
public struct HarnessHandler<Handler: HandlerFunction>: Sendable {
    /// The handler.
    public let handler: Handler
    /// Its configuration.
    public let config: HandlerConfig
}

/// What happened when a ``HandlerHarness`` invoked a handler.
public struct HandlerOutcome: Sendable {
    /// What the handler threw at its last attempt; nil when it succeeded.
    public var error: (any Error)?
    /// The attempts made.
    public var attempts: Int
    /// The HTTP requests it sent.
    public var requests: [OutgoingHTTPRequest]
    /// The messages published during the invocation (republished output, shadow events).
    public var published: [OutgoingMessage]
    /// The lines it logged.
    public var logs: [LogRecorder.Entry]

    /// Whether the invocation succeeded.
    public var succeeded: Bool { error == nil }
    /// The error, when the handler failed for good (the runtime would not retry).
    public var permanentError: PermanentHandlerError? { error as? PermanentHandlerError }
    /// Whether the handler failed in a way the runtime retries.
    public var isRetryable: Bool { error != nil && permanentError == nil }
    /// Whether the invocation ran past its deadline and was cancelled.
    public var timedOut: Bool { error is ActionTimeout }
}

/// Runs handler functions against in-memory services: shadows, records, HTTP, publisher and logs.
///
/// Build a handler from a `with:` tree written in code, then invoke it with a message; the
/// harness renders the templates against the message, as the runtime does, and reports what
/// happened. Invoke one handler at a time per harness: an outcome's requests, published messages
/// and logs are those recorded while the call ran.
///
/// For example:
/// ```swift
/// let harness = HandlerHarness()
/// harness.http.enqueue(.status(201))
/// let sms = try harness.build(NotifySMS.self, ["to": "+15550100", "body": "hot: ${temp}", ...])
/// let outcome = await harness.invoke(sms, HarnessMessage(output: ["temp": 9]))
/// #expect(outcome.requests.count == 1)
/// ```
public struct HandlerHarness: Sendable {
    /// Where shadows live (seed documents with ``shadows``' `update`).
    package let shadowStorage: InMemoryShadowStorage
    /// The shadow service handlers see; its events go to ``publisher``.
    package let shadows: ShadowService
    /// Receives republished messages and shadow events.
    public let publisher: RecordingPublisher
    /// Record tables.
    package let records: InMemoryRecordStorage
    /// Outgoing HTTP (unless the harness was given a real client); script its replies with `enqueue`.
    public let http: RecordingHTTPClient
    /// Every line logged by the handlers.
    public let logs: LogRecorder
    /// The services handlers are built with.
    public let services: HandlerServices
    /// The rule the actions belong to.
    public var ruleName: String
    /// The time handlers see (`services.now`), moved only by the test.
    public let clock: ManualClock

    /// A harness with empty stores.
    ///
    /// - Parameters:
    ///   - ruleName: The rule's name, in idempotency keys and log metadata.
    ///   - clock: The time handlers and the shadow service see; a new ``ManualClock`` unless given.
    ///   - realHTTP: A client handlers use instead of ``http`` (a real one, to test against a local
    ///     server); outcomes then list no requests.
    public init(ruleName: String = "test-rule", clock: ManualClock = ManualClock(), realHTTP: (any HTTPClient)? = nil) {
        let logs = LogRecorder()
        let publisher = RecordingPublisher()
        let storage = InMemoryShadowStorage()
        let shadows = ShadowService(
            storage: storage, publisher: publisher, clock: { clock.seconds },
            logger: logs.logger(label: "signalbox.shadows"))
        let records = InMemoryRecordStorage()
        let http = RecordingHTTPClient()
        self.shadowStorage = storage
        self.shadows = shadows
        self.publisher = publisher
        self.records = records
        self.http = http
        self.logs = logs
        self.ruleName = ruleName
        self.clock = clock
        self.services = HandlerServices(
            shadows: shadows, records: records, http: realHTTP ?? http, publisher: publisher,
            now: { clock.milliseconds },
            logger: logs.logger(label: "signalbox.handlers"))
    }

    /// Builds `type` from `with`, as loading a rules file does.
    ///
    /// - Throws: ``HandlerConfigError`` when the handler rejects its configuration, or
    ///   `DiagnosticList` when a template does not compile.
    public func build<Handler: HandlerFunction>(_ type: Handler.Type, _ with: ConfigValue) throws
        -> HarnessHandler<Handler>
    {
        let config = try HandlerConfig(with, ruleName: ruleName, function: Handler.name)
        return HarnessHandler(handler: try Handler(config: config, services: services), config: config)
    }

    /// The diagnostics reported when `type` is built from `with`; empty when it accepts it.
    ///
    /// For example:
    /// ```swift
    /// let problems = harness.rejection(Persist.self, ["tabel": "x"])
    /// #expect(problems.first?.diagnostic.help == "did you mean 'table'?")
    /// ```
    public func rejection<Handler: HandlerFunction>(_ type: Handler.Type, _ with: ConfigValue) -> [LocatedDiagnostic] {
        do {
            _ = try build(type, with)
            return []
        } catch let error as HandlerConfigError {
            return error.diagnostics
        } catch let error as DiagnosticList {
            return error.diagnostics.map { LocatedDiagnostic($0, source: nil, ruleName: ruleName) }
        } catch {
            return [LocatedDiagnostic(Diagnostic("handler-config", "\(error)", at: SourceRange(at: 0)), source: nil)]
        }
    }

    /// The invocation the runtime would make for `message`: templates rendered against it,
    /// idempotency key `"{id}/{rule}/{action}"`, deadline `timeout` from now.
    ///
    /// - Throws: `EvaluationError` when a template fails to render.
    public func invocation<Handler>(
        for handler: HarnessHandler<Handler>, _ message: HarnessMessage, actionIndex: Int? = 0, attempt: Int = 1,
        timeout: Duration = Invocation.defaultTimeout
    ) throws -> Invocation {
        let payload =
            message.payload
            ?? {
                if case .json(let value) = message.output { return value }
                return .null
            }()
        let incoming: Message
        if message.payload == nil, case .binary(let bytes) = message.output {
            incoming = Message(
                topic: message.topic, payload: bytes, timestamp: message.receivedAt ?? clock.milliseconds)
        } else {
            incoming = Message(topic: message.topic, json: payload, timestamp: message.receivedAt ?? clock.milliseconds)
        }
        let frame = EvaluationFrame(
            message: incoming, services: EvaluationServices(shadows: StoredShadowLookup(storage: shadowStorage)),
            ruleName: ruleName)
        let source = ActionSource(rule: ruleName, ruleSetVersion: 1, actionIndex: actionIndex, function: Handler.name)
        return Invocation(
            message: MessageMetadata(
                id: message.id, topic: message.topic, device: message.device,
                receivedAt: message.receivedAt ?? clock.milliseconds),
            output: message.output, config: try handler.config.compiled.render(in: frame), source: source,
            idempotencyKey: source.idempotencyKey(messageID: message.id), deadline: .now + timeout,
            attempt: attempt, baseLogger: logs.logger(label: "signalbox.runtime"))
    }

    /// Invokes `handler` for one message and reports what happened: each attempt runs as the
    /// runtime runs it (cancelled at its deadline, a late failure counted as a timeout), and a
    /// failed one is retried as the action's `retry` policy says, after the same backoff.
    ///
    /// - Parameters:
    ///   - actionIndex: The action's position in the rule; nil for the error action.
    ///   - attempt: The attempt number the handler sees first.
    ///   - timeout: Each attempt's deadline, from its start; the call is cancelled when it passes.
    ///   - retry: How failed attempts are retried; by default not at all.
    public func invoke<Handler>(
        _ handler: HarnessHandler<Handler>, _ message: HarnessMessage, actionIndex: Int? = 0, attempt: Int = 1,
        timeout: Duration = Invocation.defaultTimeout, retry: RetryPolicy = RetryPolicy(attempts: 1)
    ) async -> HandlerOutcome {
        var attempt = attempt
        var attempts = 0
        return await record(attempts: { attempts }) {
            while true {
                let invocation = try invocation(
                    for: handler, message, actionIndex: actionIndex, attempt: attempt, timeout: timeout)
                attempts += 1
                do {
                    try await Attempt.run(before: invocation.deadline, timeout: timeout) {
                        try await handler.handler.invoke(invocation)
                    }
                    return
                } catch {
                    guard let delay = retry.retryDelay(after: error, attempt: attempt) else { throw error }
                    try await Task.sleep(for: delay)
                    attempt += 1
                }
            }
        }
    }

    /// Invokes a batching `handler` once for `messages` and reports what happened.
    public func invoke<Handler: BatchingHandlerFunction>(
        _ handler: HarnessHandler<Handler>, batch messages: [HarnessMessage], actionIndex: Int? = 0,
        timeout: Duration = Invocation.defaultTimeout
    ) async -> HandlerOutcome {
        await record(attempts: { 1 }) {
            let batch = try messages.map {
                try invocation(for: handler, $0, actionIndex: actionIndex, timeout: timeout)
            }
            let deadline = batch.map(\.deadline).min() ?? .now + timeout
            try await Attempt.run(before: deadline, timeout: timeout) { try await handler.handler.invoke(batch: batch) }
        }
    }

    /// Runs `body`, noting what it sent, published and logged, and how many attempts it made.
    private func record(attempts: () -> Int, _ body: () async throws -> Void) async -> HandlerOutcome {
        let before = (http.requests.count, publisher.messages.count, logs.entries.count)
        var failure: (any Error)?
        do {
            try await body()
        } catch {
            failure = error
        }
        return HandlerOutcome(
            error: failure, attempts: attempts(), requests: Array(http.requests.dropFirst(before.0)),
            published: Array(publisher.messages.dropFirst(before.1)), logs: Array(logs.entries.dropFirst(before.2)))
    }
}
