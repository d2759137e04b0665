import SignalboxCore
import SignalboxJSON
import SignalboxSQL

/// `persist`: stores the SELECT output as one record per invocation in a record table (SQLite by
/// default), with the message id, rule, topic, device and receive time.
///
/// ```yaml
/// - function: persist
///   with: { table: readings, retain: 30d }
/// ```
///
/// Each row carries the invocation's idempotency key, and a table never holds two rows with the
/// same key, so retries and replays never duplicate a record. Invocations are written in batches,
/// one transaction per batch. A binary output is stored as a JSON string holding its base64.
struct Persist: BatchingHandlerFunction, RetainingHandler {
    static let name = "persist"

    /// The table written when the action names none.
    static let defaultTable = "records"

    /// The table the records go to.
    let table: String
    /// How long records are kept; nil keeps them forever.
    let keep: Duration?
    /// Where the records go.
    let records: any RecordStorage

    var retention: (table: String, keep: Duration)? { keep.map { (table, $0) } }

    /// Large batches: a transaction writes each index page it touches once, however many of its
    /// rows land there (4,096 rows cost about a fifth less CPU per row than 512).
    var maxBatchSize: Int { 4096 }

    init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
        try config.allowKeys(["table", "retain"])
        let table = try config.constantString("table") ?? Self.defaultTable
        guard RecordTableName.isValid(table) else {
            throw config.error(
                at: "table", "'\(table)' is not a valid table name",
                help:
                    "use 1 to 63 characters: a lowercase letter, then lowercase letters, digits or '_', not starting with 'sqlite_'"
            )
        }
        let keep = try config.duration("retain")
        if let keep, keep <= .zero {
            throw config.error(at: "retain", "'retain' must be longer than zero", help: "for example 30d")
        }
        self.table = table
        self.keep = keep
        self.records = services.records
    }

    func invoke(batch: [Invocation]) async throws {
        guard !batch.isEmpty else { return }
        try await records.insert(batch.map(Self.row), into: table)
    }

    /// The row stored for `invocation`.
    static func row(_ invocation: Invocation) -> RecordRow {
        RecordRow(
            idempotencyKey: invocation.idempotencyKey, messageID: invocation.message.id, rule: invocation.source.rule,
            topic: invocation.message.topic, device: invocation.message.device,
            receivedAt: invocation.message.receivedAt, data: invocation.outputJSONText)
    }

}
