import Hummingbird
import SignalboxCore
import SignalboxJSON

extension SignalboxAPI {
    /// `GET /records`: `{"tables": ["alerts", …]}`.
    func recordTables() async throws -> Response {
        let tables = try await recordCall { try await $0.tables() }
        return json(["tables": .array(tables.map(Value.string))])
    }

    /// `GET /records/{table}?device=&since=&until=&after=&limit=`: `{"records": [...], "next_after": seq|null}`,
    /// oldest first; `next_after` is the `after` of the next page, null on the last one.
    func records(_ request: Request, _ context: Context) async throws -> Response {
        let table = try context.parameter("table")
        guard RecordTableName.isValid(table) else {
            throw APIError.badRequest("Invalid table name: a lowercase letter, then up to 62 of a-z, 0-9 and '_'")
        }
        let recordQuery = try Self.recordQuery(context.target)
        let records = try await recordCall { try await $0.records(in: table, matching: recordQuery) }
        if records.isEmpty {
            let tables = try await recordCall { try await $0.tables() }
            guard tables.contains(table) else { throw APIError.notFound("No records table named '\(table)'") }
        }
        let next: Value = records.count == recordQuery.limit ? records.last.map { .int($0.seq) } ?? .null : .null
        return json(["records": .array(records.map(RuntimeJSON.record)), "next_after": next])
    }

    /// The query of `device`, `since`, `until` (ms since the epoch or RFC 3339), `after` and `limit`
    /// (1–1,000, default 100).
    static func recordQuery(_ target: RequestTarget) throws(APIError) -> RecordQuery {
        var result = RecordQuery()
        result.device = target.query["device"]
        for (name, keyPath) in [("since", \RecordQuery.since), ("until", \RecordQuery.until)] {
            guard let text = target.query[name] else { continue }
            guard let time = Timestamp.parse(text) else {
                throw APIError.badRequest("\(name) must be milliseconds since the epoch or an RFC 3339 time")
            }
            result[keyPath: keyPath] = time
        }
        if let after = try target.integer("after", in: 0...Int64.max) { result.after = after }
        if let limit = try target.integer("limit", in: 1...1000) { result.limit = limit }
        return result
    }

    /// Runs a record-store call: 503 without a store, a bare 500 (logged) when it fails.
    func recordCall<T>(_ operation: (any RecordStorage) async throws -> T) async throws(APIError) -> T {
        guard let storage = runtime.records else {
            throw APIError.unavailable("The record store is not available in this server")
        }
        do {
            return try await operation(storage)
        } catch {
            logger.error("record store failed", metadata: ["error.type": "\(type(of: error))"])
            throw APIError.internalFailure
        }
    }
}
