import Foundation
import Testing

/// `tools/new-handler.sh`, run against a copy of `Functions/` in a temporary directory.
@Suite("new-handler scaffold")
struct ScaffoldTests {
    /// The repository: three levels above this file.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// What one run of the script printed and returned.
    struct Run {
        var status: Int32
        var output: String
        var errors: String
    }

    /// A temporary root holding a copy of `Functions/`; removed after `body`.
    static func withCopy<T>(_ body: (URL) throws -> T) throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("scaffold-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Functions"), to: root.appendingPathComponent("Functions"))
        return try body(root)
    }

    /// Runs `tools/new-handler.sh --root ROOT ARGUMENTS…`.
    static func scaffold(root: URL, _ arguments: String...) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["bash", repository.appendingPathComponent("tools/new-handler.sh").path, "--root", root.path] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outText = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: outText, errors: errText)
    }

    static func text(_ root: URL, _ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test("writes the handler, its test and one registry line")
    func scaffolds() throws {
        try Self.withCopy { root in
            let registryBefore = try Self.text(root, "Functions/Registry.swift")
            let run = try Self.scaffold(root: root, "send-email")
            #expect(run.status == 0, "\(run.errors)")
            #expect(run.output.contains("Functions/SendEmail.swift"))
            #expect(run.output.contains("Tests/SignalboxFunctionsTests/SendEmailTests.swift"))

            let handler = try Self.text(root, "Functions/SendEmail.swift")
            #expect(handler.contains("struct SendEmail: HandlerFunction {"))
            #expect(handler.contains(#"static let name = "send-email""#))
            #expect(handler.contains(#"with: { message: "device ${topic(2)} matched" }"#))
            let test = try Self.text(root, "Tests/SignalboxFunctionsTests/SendEmailTests.swift")
            #expect(test.contains("struct SendEmailTests {"))
            #expect(test.contains(#"harness.build(SendEmail.self, ["message": "device ${topic(2)} is at ${temp}"])"#))

            // The registry gains exactly one line, at the end of the list, indented like the others.
            let registry = try Self.text(root, "Functions/Registry.swift")
            let lines = registry.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.filter { $0.contains("SendEmail") } == ["        SendEmail.self,"])
            let entry = try #require(lines.firstIndex(of: "        SendEmail.self,"))
            #expect(lines[entry + 1] == "    ]")
            var expected = registryBefore.split(separator: "\n", omittingEmptySubsequences: false)
            expected.insert("        SendEmail.self,", at: entry)
            #expect(lines == expected)
        }
    }

    @Test("refuses a name that exists, as a handler or as a file, and changes nothing")
    func refusesDuplicates() throws {
        try Self.withCopy { root in
            #expect(try Self.scaffold(root: root, "send-email").status == 0)
            let registry = try Self.text(root, "Functions/Registry.swift")
            let again = try Self.scaffold(root: root, "send-email")
            #expect(again.status != 0)
            #expect(again.errors.contains("a handler function named 'send-email' already exists"))
            let builtIn = try Self.scaffold(root: root, "persist")
            #expect(builtIn.status != 0)
            #expect(
                builtIn.errors.contains("a handler function named 'persist' already exists (Functions/Persist.swift)"))
            try "// someone's file\n".write(
                to: root.appendingPathComponent("Functions/SendSms.swift"), atomically: true, encoding: .utf8)
            let file = try Self.scaffold(root: root, "send-sms")
            #expect(file.status != 0)
            #expect(file.errors.contains("Functions/SendSms.swift already exists"))
            #expect(try Self.text(root, "Functions/Registry.swift") == registry)
        }
    }

    @Test(
        "refuses a name that is not lowercase words joined by single dashes",
        arguments: [
            "SendEmail", "send_email", "send email", "-send", "send-", "send--email", "1send", "send-é", "x;rm",
        ])
    func refusesBadNames(name: String) throws {
        try Self.withCopy { root in
            let registry = try Self.text(root, "Functions/Registry.swift")
            let run = try Self.scaffold(root: root, "--", name)
            #expect(run.status != 0)
            #expect(run.errors.contains("is not a valid handler function name"))
            #expect(try Self.text(root, "Functions/Registry.swift") == registry)
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("Tests").path))
        }
    }

    @Test("refuses a name whose type would hide another type")
    func refusesTypeClash() throws {
        try Self.withCopy { root in
            let sources = root.appendingPathComponent("Sources/SignalboxCore")
            try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
            try "package struct HandlerConfig {}\n".write(
                to: sources.appendingPathComponent("HandlerConfig.swift"), atomically: true, encoding: .utf8)
            let run = try Self.scaffold(root: root, "handler-config")
            #expect(run.status != 0)
            #expect(run.errors.contains("a type named 'HandlerConfig' already exists"))
            #expect(try Self.scaffold(root: root, "result").errors.contains("would hide a Swift or Signalbox type"))
        }
    }

    @Test("refuses a root without Functions/Registry.swift")
    func refusesWrongRoot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("scaffold-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try Self.scaffold(root: root, "send-email")
        #expect(run.status != 0)
        #expect(run.errors.contains("is '\(root.path)' the Signalbox repository?"))
    }
}
