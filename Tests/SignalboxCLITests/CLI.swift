import Foundation
import Testing

/// Runs the built `signalbox` executable and compares its output with golden files.
///
/// Golden files live in `Tests/SignalboxCLITests/Golden`. To regenerate them after an intended
/// change of output, run the tests with `SIGNALBOX_UPDATE_GOLDEN=1` and review the diff.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The package root, found from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let goldenDirectory = packageRoot.appendingPathComponent("Tests/SignalboxCLITests/Golden")

    /// The `signalbox` binary next to the test bundle.
    static var executable: URL {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // On Linux the test runner is `<bin>/SignalboxPackageTests.xctest`; on macOS it is inside a bundle.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("signalbox").path),
            directory.path != "/"
        {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("signalbox")
    }

    /// Runs `signalbox arguments…` in the package root with `stdin` as standard input.
    static func run(_ arguments: [String], stdin: String = "", environment: [String: String] = [:]) throws -> Result {
        try runProgram(executable.path, arguments, stdin: stdin, environment: environment)
    }

    /// Runs `program arguments…` in the package root with `stdin` as standard input.
    static func runProgram(
        _ program: String, _ arguments: [String], stdin: String = "", environment: [String: String] = [:]
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.currentDirectoryURL = packageRoot
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let input = Pipe()
        let output = Pipe()
        let error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Write and read concurrently so large outputs cannot deadlock on full pipes.
        let writer = Thread {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let stderrBox = ErrorBox()
        let reader = Thread { stderrBox.data = error.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !stderrBox.done { usleep(1000) }
        return Result(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: stderrBox.data ?? Data(), as: UTF8.self))
    }

    final class ErrorBox: @unchecked Sendable {  // written once by the reader thread, then read
        private let lock = NSLock()
        private var _data: Data?
        var data: Data? {
            get { lock.withLock { _data } }
            set { lock.withLock { _data = newValue } }
        }
        var done: Bool { data != nil }
    }

    /// Compares `actual` with the golden file `name`, or rewrites it in update mode.
    static func assertGolden(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws
    {
        let url = goldenDirectory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["SIGNALBOX_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: goldenDirectory, withIntermediateDirectories: true)
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(actual == expected, "output differs from golden file \(name)", sourceLocation: sourceLocation)
    }

    /// The contents of a golden input file.
    static func golden(_ name: String) throws -> String {
        try String(contentsOf: goldenDirectory.appendingPathComponent(name), encoding: .utf8)
    }
}
