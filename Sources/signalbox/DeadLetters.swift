import ArgumentParser
import Foundation
import SignalboxCore
import SignalboxJSON
import SignalboxServer
import SignalboxStore

/// `signalbox dead-letters list|retry|delete`: invocations that failed for good.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List, retry or delete dead letters (actions that failed after every retry).",
        subcommands: [List.self, Retry.self, Delete.self])

    /// `signalbox dead-letters list`: reads the data directory.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List dead letters, oldest first (reads the data directory).",
            discussion: """
                Each prints on one line, tab-separated: id, created at (RFC 3339, UTC), rule, rule-set \
                version, action (its index, or 'error' for the error action), function, attempts, message \
                id, topic, error. --json prints what GET /admin/dead-letters returns, payloads included \
                (base64).
                """)

        @OptionGroup var options: DataOptions

        @Option(help: "Only dead letters with an id greater than this (paging).")
        var after: Int64 = 0

        @Option(help: "At most this many.")
        var limit: Int = 100

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be positive") }
        }

        func run() async throws {
            let path = URL(fileURLWithPath: options.data).appendingPathComponent(AppDatabase.fileName).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure("no Signalbox data in '\(options.data)' (no \(AppDatabase.fileName))")
            }
            let storage = SQLiteDeadLetterStorage(database: try options.openDatabase())
            let letters = try await storage.list(after: after, limit: limit)
            if json {
                let next: Value = letters.count == limit ? letters.last.map { .int($0.id) } ?? .null : .null
                let total = try await storage.count()
                print(
                    JSONSerializer.string([
                        "dead_letters": .array(letters.map(RuntimeJSON.deadLetter)), "next_after": next,
                        "total": .int(Int64(total)),
                    ]))
                return
            }
            for letter in letters {
                let source = letter.source
                print(
                    [
                        String(letter.id), Timestamp.format(letter.createdAt), source.rule,
                        String(source.ruleSetVersion), source.actionIndex.map(String.init) ?? "error", source.function,
                        String(letter.attempts), String(letter.message.id), letter.message.topic, letter.error,
                    ].joined(separator: "\t"))
            }
        }
    }

    /// `signalbox dead-letters retry ID`: through the running server, which runs the action.
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a dead letter's action again, inside the running server.",
            discussion: "Succeeds (and the dead letter is gone) only if the action succeeds.")

        @OptionGroup var server: ServerOptions

        @Argument(help: "The dead letter's id.")
        var id: Int64

        func run() async throws {
            let reply = try await server.client().send("POST", "/admin/dead-letters/\(id)/retry")
            guard reply.status == 200 else { throw CommandFailure(reply.message) }
            print("Dead letter \(id) delivered; it is removed.")
        }
    }

    /// `signalbox dead-letters delete ID`: through the running server.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a dead letter (through the running server).")

        @OptionGroup var server: ServerOptions

        @Argument(help: "The dead letter's id.")
        var id: Int64

        func run() async throws {
            let reply = try await server.client().send("DELETE", "/admin/dead-letters/\(id)")
            guard reply.status == 200 else { throw CommandFailure(reply.message) }
            print("Deleted dead letter \(id).")
        }
    }
}
