import ArgumentParser
import Foundation
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxServer
import SignalboxStore

/// `signalbox throttles list|reset`: the throttle windows of the actions with `throttle:`.
struct Throttles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throttles",
        abstract: "List or reset throttle windows (at most one successful invocation per key and period).",
        subcommands: [List.self, Reset.self])

    /// The running server that resets windows: its windows live in its memory, so a reset goes through
    /// it, as `dead-letters retry` does.
    static func server(_ options: ServerOptions) throws -> AdminClient {
        try options.client()
    }

    /// `signalbox throttles list`: reads the data directory.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the open throttle windows, by rule, action and key (reads the data directory).",
            discussion: """
                Each prints on one line, tab-separated: rule, action index, key (in double quotes, with \
                backslash escapes for quotes, backslashes and control characters), opened at and expires \
                at (RFC 3339, UTC). A window opens when an invocation succeeds; the server saves it within \
                100 ms. Invocations in progress, which hold their key until they succeed or fail for good, \
                are shown by GET /admin/throttles. --json prints what that endpoint returns.
                """)

        @OptionGroup var options: DataOptions

        @Option(help: "Only this rule's windows.")
        var rule: String?

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let path = URL(fileURLWithPath: options.data).appendingPathComponent(AppDatabase.fileName).path
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure("no Signalbox data in '\(options.data)' (no \(AppDatabase.fileName))")
            }
            let storage = SQLiteThrottleStorage(database: try options.openDatabase())
            let windows = try await storage.windows(activeAt: WallClock.system.milliseconds()).compactMap {
                ThrottleWindow(
                    action: $0.action, key: $0.key, startedAt: $0.startedAt, expiresAt: $0.expiresAt,
                    idempotencyKey: $0.idempotencyKey)
            }.filter { rule == nil || $0.rule == rule }
            if json {
                print(
                    JSONSerializer.string([
                        "throttles": .array(windows.map(RuntimeJSON.throttleWindow)),
                        "total": .int(Int64(windows.count)),
                    ]))
                return
            }
            for window in windows {
                print(
                    [
                        window.rule, String(window.actionIndex), Throttles.quoted(window.key),
                        Timestamp.format(window.startedAt), window.expiresAt.map(Timestamp.format) ?? "-",
                    ].joined(separator: "\t"))
            }
        }
    }

    /// `signalbox throttles reset`: through the running server.
    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Close throttle windows, so the next invocation for their keys runs (through the running server).",
            discussion:
                "Also frees keys held by invocations in progress. Give --rule (and --key for one key), or --all.")

        @OptionGroup var server: ServerOptions

        @Option(help: "The rule whose windows to close.")
        var rule: String?

        @Option(help: "Only this throttle key (with --rule).")
        var key: String?

        @Flag(help: "Close every window of every rule.")
        var all = false

        func validate() throws {
            if all {
                guard rule == nil, key == nil else { throw ValidationError("--all takes no --rule or --key") }
            } else {
                guard rule != nil else { throw ValidationError("give --rule RULE (and --key KEY), or --all") }
            }
        }

        func run() async throws {
            var query = ["all=\(all)"]
            if let rule { query.append("rule=" + PercentEncoding.encode(rule, keeping: "")) }
            if let key { query.append("key=" + PercentEncoding.encode(key, keeping: "")) }
            let body = try await Throttles.server(server).call(
                "DELETE", "/admin/throttles?" + query.joined(separator: "&"))
            guard case .int(let count)? = body["reset"] else {
                throw CommandFailure("the server answered without a count")
            }
            print("Reset \(count) throttle window\(count == 1 ? "" : "s").")
        }
    }

    /// `text` in double quotes, with `\"`, `\\`, `\t`, `\n`, `\r` and `\u{…}` for other control and
    /// format characters: a key is a value from outside and must not steer the terminal.
    static func quoted(_ text: String) -> String {
        var quoted = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            case "\t": quoted += "\\t"
            case "\n": quoted += "\\n"
            case "\r": quoted += "\\r"
            default:
                switch scalar.properties.generalCategory {
                case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                    quoted += "\\u{" + String(scalar.value, radix: 16) + "}"
                default:
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }
}
