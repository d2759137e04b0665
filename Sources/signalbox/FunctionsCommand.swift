import ArgumentParser
import Foundation
import SignalboxCore
import SignalboxJSON
import SignalboxLambdaHost
import SignalboxServer

/// `signalbox functions deploy|list|versions|invoke|logs|remove`: deployed functions on a running
/// server, through its Lambda API (docs/functions.md).
struct FunctionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "functions",
        abstract: "Deploy, list, invoke and remove deployed functions (the AWS Lambda contract) on a running server.",
        subcommands: [Deploy.self, List.self, Versions.self, Invoke.self, Logs.self, Remove.self])

    /// The Lambda API's path of `name`.
    static func path(_ name: String, _ rest: String = "") -> String {
        "/2015-03-31/functions/\(PercentEncoding.encode(name, keeping: ""))\(rest)"
    }

    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or update a function from a zip or a directory and publish it as a new version.",
            discussion: """
                A new function is created; an existing one gets the new code (and any settings given) and a new \
                version is published. With --alias, the alias then names that version (created if needed): \
                rules that name NAME:ALIAS take the new version at once, while invocations in progress finish \
                on the old one. Prints the version.
                """)

        @OptionGroup var server: ServerOptions

        @Argument(help: "The function's name: 1 to 64 characters of [a-zA-Z0-9-_].")
        var name: String

        @Option(help: "A zip bundle.")
        var zip: String?

        @Option(help: "A directory to bundle (hidden files are left out).")
        var dir: String?

        @Option(help: "provided, provided.al2, provided.al2023 or python3.9 … python3.13 (needed to create).")
        var runtime: String?

        @Option(help: "The handler: module.function for Python; passed as _HANDLER to provided (needed to create).")
        var handler: String?

        @Option(help: "Seconds an invocation may run (1–900; default 3).")
        var timeout: Int?

        @Option(help: "Memory size in MB (128–10240; default 128).")
        var memory: Int?

        @Option(name: .customLong("env"), help: "An environment variable, NAME=VALUE (repeat for more).")
        var environment: [String] = []

        @Option(help: "Point this alias at the new version.")
        var alias: String?

        func validate() throws {
            guard FunctionReference.isName(name) else {
                throw ValidationError("the name must be 1 to 64 characters of [a-zA-Z0-9-_]")
            }
            guard (zip == nil) != (dir == nil) else { throw ValidationError("give one of --zip or --dir") }
            if let alias, !FunctionReference.isAliasName(alias) {
                throw ValidationError("--alias must be 1 to 128 characters of [a-zA-Z0-9-_], not only digits")
            }
            for variable in environment where !variable.contains("=") {
                throw ValidationError("--env takes NAME=VALUE")
            }
        }

        func run() async throws {
            let bundle: [UInt8]
            if let zip {
                guard let data = FileManager.default.contents(atPath: zip) else {
                    throw CommandFailure("cannot read '\(zip)'")
                }
                bundle = Array(data)
            } else {
                do {
                    bundle = try BundleArchive.zip(directory: dir ?? ".")
                } catch {
                    throw CommandFailure("cannot bundle '\(dir ?? ".")': \(error)")
                }
            }
            let client = try server.client()
            var settings: [String: Value] = [:]
            if let runtime { settings["Runtime"] = .string(runtime) }
            if let handler { settings["Handler"] = .string(handler) }
            if let timeout { settings["Timeout"] = .int(Int64(timeout)) }
            if let memory { settings["MemorySize"] = .int(Int64(memory)) }
            if !environment.isEmpty {
                var variables = JSONObject()
                for variable in environment {
                    let (key, value) = variable.split(separator: "=", maxSplits: 1).map(String.init).pair
                    variables.appendUnique(key: key, value: .string(value))
                }
                settings["Environment"] = ["Variables": .object(variables)]
            }
            let code = Value.string(Data(bundle).base64EncodedString())
            let existing = try await client.send("GET", FunctionsCommand.path(name))
            let version: String
            if existing.status == 404 {
                guard runtime != nil, handler != nil else {
                    throw ValidationError("a new function needs --runtime and --handler")
                }
                var request = JSONObject(
                    settings.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) })
                request.appendUnique(key: "FunctionName", value: .string(name))
                request.appendUnique(key: "Code", value: ["ZipFile": code])
                request.appendUnique(key: "Publish", value: true)
                let created = try await client.call(
                    "POST", "/2015-03-31/functions", body: JSONSerializer.bytes(.object(request)))
                version = Self.string(created["Version"])
            } else {
                guard existing.status == 200 else { throw CommandFailure(existing.message) }
                if !settings.isEmpty {
                    let request = JSONObject(
                        settings.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) })
                    _ = try await client.call(
                        "PUT", FunctionsCommand.path(name, "/configuration"),
                        body: JSONSerializer.bytes(.object(request)))
                }
                let updated = try await client.call(
                    "PUT", FunctionsCommand.path(name, "/code"),
                    body: JSONSerializer.bytes(["ZipFile": code, "Publish": true]))
                version = Self.string(updated["Version"])
            }
            if let alias {
                let body = JSONSerializer.bytes(["Name": .string(alias), "FunctionVersion": .string(version)])
                let made = try await client.send("POST", FunctionsCommand.path(name, "/aliases"), body: body)
                if made.status == 409 {
                    _ = try await client.call(
                        "PUT", FunctionsCommand.path(name, "/aliases/\(alias)"),
                        body: JSONSerializer.bytes(["FunctionVersion": .string(version)]))
                } else if made.status != 201 {
                    throw CommandFailure(made.message)
                }
            }
            print("deployed \(name) version \(version)" + (alias.map { " (alias \($0))" } ?? ""))
        }

        static func string(_ value: Value?) -> String {
            if case .string(let text)? = value { return text }
            return "?"
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List deployed functions: name, runtime, handler, timeout, memory, last modified (tab-separated)."
        )

        @OptionGroup var server: ServerOptions

        func run() async throws {
            let client = try server.client()
            var marker: String?
            repeat {
                let query = marker.map { "?Marker=\(PercentEncoding.encode($0, keeping: ""))" } ?? ""
                let page = try await client.call("GET", "/2015-03-31/functions/" + query)
                guard case .array(let functions)? = page["Functions"] else { return }
                for function in functions {
                    print(
                        ["FunctionName", "Runtime", "Handler", "Timeout", "MemorySize", "LastModified"]
                            .map { function[$0].map(Self.text) ?? "" }.joined(separator: "\t"))
                }
                marker = page["NextMarker"].flatMap { if case .string(let text) = $0 { text } else { nil } }
            } while marker != nil
        }

        static func text(_ value: Value) -> String {
            if case .string(let text) = value { return LogText.escaped(text) }
            return JSONSerializer.string(value)
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a function's versions (version, code SHA-256, last modified, description) and aliases.")

        @OptionGroup var server: ServerOptions

        @Argument(help: "The function's name.")
        var name: String

        func run() async throws {
            let client = try server.client()
            let versions = try await client.call("GET", FunctionsCommand.path(name, "/versions?MaxItems=10000"))
            for version in Self.array(versions["Versions"]) {
                print(
                    ["Version", "CodeSha256", "LastModified", "Description"]
                        .map { version[$0].map(List.text) ?? "" }.joined(separator: "\t"))
            }
            let aliases = try await client.call("GET", FunctionsCommand.path(name, "/aliases?MaxItems=10000"))
            for alias in Self.array(aliases["Aliases"]) {
                print("alias \(alias["Name"].map(List.text) ?? "") -> \(alias["FunctionVersion"].map(List.text) ?? "")")
            }
        }

        static func array(_ value: Value?) -> [Value] {
            if case .array(let items)? = value { return items }
            return []
        }
    }

    struct Invoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invoke a function and print its result; a function error is printed to stderr (exit 1).")

        @OptionGroup var server: ServerOptions

        @Argument(help: "NAME, NAME:VERSION or NAME:ALIAS.")
        var function: String

        @Option(help: "The event (JSON).")
        var payload: String = "{}"

        @Flag(help: "Print the invocation's log (its last 4 KB) to stderr.")
        var log = false

        func run() async throws {
            guard (try? JSONParser.parse(Array(payload.utf8))) != nil else {
                throw ValidationError("--payload must be JSON")
            }
            let client = try server.client()
            let reply = try await client.send(
                "POST", FunctionsCommand.path(function, "/invocations"), body: Array(payload.utf8),
                headers: log ? [.init("X-Amz-Log-Type", "Tail")] : [])
            guard reply.status == 200 else { throw CommandFailure(reply.message) }
            if log, let tail = reply.header("X-Amz-Log-Result"), let data = Data(base64Encoded: tail) {
                FileHandle.standardError.write(data)
            }
            if reply.header("X-Amz-Function-Error") != nil {
                FileHandle.standardError.write(Data(reply.bytes + [0x0a]))
                throw ExitCode(1)
            }
            print(String(decoding: reply.bytes, as: UTF8.self))
        }
    }

    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a function's invocation logs since the server started (the last 256 KiB).")

        @OptionGroup var server: ServerOptions

        @Argument(help: "The function's name.")
        var name: String

        @Flag(help: "Keep printing new invocations' logs until interrupted.")
        var follow = false

        func run() async throws {
            let client = try server.client()
            var since = 0
            repeat {
                let page = try await client.call(
                    "GET", "/admin/functions/\(PercentEncoding.encode(name, keeping: ""))/logs?since=\(since)")
                if case .string(let text)? = page["log"], !text.isEmpty {
                    print(text, terminator: "")
                    fflush(nil)
                }
                if case .int(let end)? = page["end"] { since = Int(end) }
                if follow { try await Task.sleep(for: .seconds(1)) }
            } while follow
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a function with all its versions (invocations in progress finish first).")

        @OptionGroup var server: ServerOptions

        @Argument(help: "The function's name.")
        var name: String

        func run() async throws {
            _ = try await server.client().call("DELETE", FunctionsCommand.path(name))
            print("removed \(name)")
        }
    }
}

extension Array where Element == String {
    /// The first two elements (the second empty when missing).
    fileprivate var pair: (String, String) { (first ?? "", count > 1 ? self[1] : "") }
}
