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

    /// `signalbox dead-letters list`: reads the data directory, or asks the server given by `--url`
    /// or `$SIGNALBOX_URL` (found the same way as `retry` and `delete` find it).
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List dead letters, oldest first (reads the data directory, or asks the server at --url).",
            discussion: """
                Each prints on one line, tab-separated: id, created at (RFC 3339, UTC), rule, rule-set \
                version, action (its index, or 'error' for the error action), function, attempts, message \
                id, topic, error. --json prints what GET /admin/dead-letters returns, payloads included \
                (base64). Without --url or $SIGNALBOX_URL the data directory is read directly, whether a \
                server is running or not; with one, the server answers (an admin token is needed).
                """)

        @OptionGroup var server: ServerOptions

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
            let page = server.hasExplicitURL ? try await fromServer() : try await fromDataDirectory()
            if json {
                print(JSONSerializer.string(page))
                return
            }
            guard case .array(let letters)? = page["dead_letters"] else { return }
            for letter in letters {
                let fields: [String] = [
                    text(letter["id"]), integer(letter["created_at"]).map(Timestamp.format) ?? "",
                    text(letter["rule"]), text(letter["rule_set_version"]),
                    integer(letter["action_index"]).map(String.init) ?? "error", text(letter["function"]),
                    text(letter["attempts"]), text(letter["message_id"]), text(letter["topic"]), text(letter["error"]),
                ]
                print(fields.joined(separator: "\t"))
            }
        }

        /// `GET /admin/dead-letters` of the running server.
        private func fromServer() async throws -> Value {
            try await server.client().call("GET", "/admin/dead-letters?after=\(after)&limit=\(limit)")
        }

        /// The same page, read from the data directory's store.
        private func fromDataDirectory() async throws -> Value {
            let data = server.data
            let path = URL(fileURLWithPath: data).appendingPathComponent(AppDatabase.fileName).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure("no Signalbox data in '\(data)' (no \(AppDatabase.fileName))")
            }
            let database: AppDatabase
            do {
                database = try AppDatabase(directory: data)
            } catch {
                throw ValidationError("cannot open the data directory '\(data)': \(error)")
            }
            let storage = SQLiteDeadLetterStorage(database: database)
            let letters = try await storage.list(after: after, limit: limit)
            let next: Value = letters.count == limit ? letters.last.map { .int($0.id) } ?? .null : .null
            return [
                "dead_letters": .array(letters.map(RuntimeJSON.deadLetter)), "next_after": next,
                "total": .int(Int64(try await storage.count())),
            ]
        }

        private func integer(_ value: Value?) -> Int64? {
            if case .int(let number)? = value { return number }
            return nil
        }

        private func text(_ value: Value?) -> String {
            switch value {
            case .string(let text)?: text
            case .int(let number)?: String(number)
            default: ""
            }
        }
    }

    /// `signalbox dead-letters retry ID`: through the running server, which runs the action.
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a dead letter's action again, inside the running server.",
            discussion: """
                Succeeds (and the dead letter is gone) only if the action succeeds. The server is the one \
                given by --url or $SIGNALBOX_URL, else the one running over --data (default ./data). Waits \
                at most the action's timeout plus a few seconds.
                """)

        @OptionGroup var letter: DeadLetterOnServer

        func run() async throws {
            _ = try await letter.server.client().call("POST", letter.path + "/retry")
            print("Dead letter \(letter.id) delivered; it is removed.")
        }
    }

    /// `signalbox dead-letters delete ID`: through the running server.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a dead letter (through the running server).")

        @OptionGroup var letter: DeadLetterOnServer

        func run() async throws {
            _ = try await letter.server.client().call("DELETE", letter.path)
            print("Deleted dead letter \(letter.id).")
        }
    }

    /// A dead letter of the running server, by id.
    struct DeadLetterOnServer: ParsableArguments {
        @OptionGroup var server: ServerOptions

        @Argument(help: "The dead letter's id.")
        var id: Int64

        /// Its path in the admin API.
        var path: String { "/admin/dead-letters/\(id)" }
    }
}
