import ArgumentParser
import Foundation
import SignalboxCore
import SignalboxJSON
import SignalboxServer
import SignalboxStore

/// `signalbox records [TABLE]`: the records `persist` actions wrote, read from the data directory.
struct Records: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the records persisted by rules, or list the record tables.",
        discussion: """
            Reads records.sqlite in the data directory directly; the server may be running. Without a \
            table, lists the tables. Each record prints on one line, tab-separated: seq, received at \
            (RFC 3339, UTC), device, rule, topic, and the record's JSON. Times given to --since and \
            --until are milliseconds since the epoch or RFC 3339 (2024-05-01T12:00:00Z, or a date).
            """)

    @OptionGroup var options: DataOptions

    @Argument(help: "The table; omit it to list the tables.")
    var table: String?

    @Option(help: "Only this device's records.")
    var device: String?

    @Option(help: "Only records received at or after this time.")
    var since: String?

    @Option(help: "Only records received before this time.")
    var until: String?

    @Option(help: "Only records after this seq (paging).")
    var after: Int64?

    @Option(help: "At most this many records, oldest first.")
    var limit: Int = 100

    @Flag(help: "Print JSON, as GET /records/{table} returns it.")
    var json = false

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be positive") }
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, Timestamp.parse(value) == nil {
                throw ValidationError("\(name) takes milliseconds since the epoch or an RFC 3339 time")
            }
        }
    }

    func run() async throws {
        let storage = try openStorage()
        let tables = try await storage?.tables() ?? []
        guard let table else {
            if json {
                print(JSONSerializer.string(["tables": .array(tables.map(Value.string))]))
            } else if tables.isEmpty {
                FileHandle.standardError.write(Data("No record tables in '\(options.data)'.\n".utf8))
            } else {
                for table in tables { print(table) }
            }
            return
        }
        guard let storage, tables.contains(table) else {
            let known = tables.isEmpty ? "there are none yet" : "tables: " + tables.joined(separator: ", ")
            throw CommandFailure("no record table '\(table)' in '\(options.data)' (\(known))")
        }
        let query = RecordQuery(
            device: device, since: since.flatMap(Timestamp.parse), until: until.flatMap(Timestamp.parse),
            after: after, limit: limit)
        let records = try await storage.records(in: table, matching: query)
        if json {
            let next: Value = records.count == limit ? records.last.map { .int($0.seq) } ?? .null : .null
            print(JSONSerializer.string(["records": .array(records.map(RuntimeJSON.record)), "next_after": next]))
            return
        }
        for record in records {
            let row = record.row
            let data = (try? JSONParser.parse(row.data)).map { JSONSerializer.string($0) } ?? "(not JSON)"
            print(
                [String(record.seq), Timestamp.format(row.receivedAt), row.device, row.rule, row.topic, data]
                    .joined(separator: "\t"))
        }
    }

    /// The records file of the data directory; nil when it does not exist (nothing was persisted yet).
    func openStorage() throws -> SQLiteRecordStorage? {
        let path = URL(fileURLWithPath: options.data).appendingPathComponent(SQLiteRecordStorage.fileName).path
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            return try SQLiteRecordStorage(directory: options.data, durability: options.durability)
        } catch {
            throw CommandFailure("cannot open '\(path)': \(error)")
        }
    }
}
