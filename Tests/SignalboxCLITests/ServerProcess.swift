import Foundation
import SignalboxTestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A `signalbox serve` process on an ephemeral loopback port, over a data directory, for tests.
final class ServerProcess: @unchecked Sendable {  // fields are set in init and only read afterwards
    let process = Process()
    let port: Int
    let baseURL: URL
    private let output = Pipe()

    /// Starts `signalbox serve --data DIR --port 0 extra…` and waits for its "listening on" line;
    /// its log goes to `logFile` when given (created anew), else nowhere.
    init(data: URL, extraArguments: [String] = [], environment: [String: String] = [:], logFile: URL? = nil) throws {
        process.executableURL = CLI.executable
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.arguments = ["serve", "--data", data.path, "--port", "0", "--log-level", "warning"] + extraArguments
        process.currentDirectoryURL = CLI.packageRoot
        process.standardOutput = output
        // Not the test runner's own stderr: a server left running must not hold the runner's output open.
        if let logFile {
            _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: logFile)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        var buffer = Data()
        let handle = output.fileHandleForReading
        let deadline = Date().addingTimeInterval(30)
        var found: Int?
        while found == nil {
            guard Date() < deadline, process.isRunning else {
                process.terminate()
                throw ServerError("signalbox serve did not report its port: \(String(decoding: buffer, as: UTF8.self))")
            }
            let chunk = handle.availableData
            if chunk.isEmpty { continue }
            buffer.append(chunk)
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n")
            where line.hasPrefix("listening on http://127.0.0.1:") {
                found = Int(line.split(separator: ":").last ?? "")
            }
        }
        port = found ?? 0
        baseURL = URL(string: "http://127.0.0.1:\(port)")!  // built from a valid literal and an integer
    }

    /// A server whose test ended early (a thrown error) is killed rather than left running.
    deinit {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Sends SIGKILL and waits for the process to die.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends SIGHUP (reload the rules).
    func hangUp() {
        Foundation.kill(process.processIdentifier, SIGHUP)
    }

    /// Sends SIGTERM and waits for a graceful exit.
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }

    /// A session allowing many parallel connections, so tests can load the server.
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 128
        return URLSession(configuration: configuration)
    }()

    /// Sends a request; returns the status and body.
    func request(_ method: String, _ path: String, token: String?, body: String? = nil) async throws -> (
        status: Int, body: String
    ) {
        guard let url = URL(string: path, relativeTo: baseURL) else { throw ServerError("bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body { request.httpBody = Data(body.utf8) }
        let (data, response) = try await Self.session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, String(decoding: data, as: UTF8.self))
    }
}

struct ServerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension ServerProcess {
    /// Starts a server without blocking the concurrency pool.
    static func start(
        data: URL, extraArguments: [String] = [], environment: [String: String] = [:], logFile: URL? = nil
    ) async throws -> ServerProcess {
        try await offPool {
            try ServerProcess(data: data, extraArguments: extraArguments, environment: environment, logFile: logFile)
        }
    }

    /// Kills the server without blocking the concurrency pool.
    func kill() async {
        _ = try? await offPool { self.kill() }
    }

    /// Stops the server without blocking the concurrency pool.
    func stop() async {
        _ = try? await offPool { self.stop() }
    }
}

extension CLI {
    /// `run` without blocking the concurrency pool.
    static func runAsync(_ arguments: [String], stdin: String = "", environment: [String: String] = [:])
        async throws -> Result
    {
        try await offPool { try run(arguments, stdin: stdin, environment: environment) }
    }

    /// `runProgram` without blocking the concurrency pool.
    static func runProgramAsync(_ program: String, _ arguments: [String], environment: [String: String] = [:])
        async throws -> Result
    {
        try await offPool { try runProgram(program, arguments, environment: environment) }
    }
}

/// A temporary directory, removed by `remove()`.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("signalbox-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The fields of a token printed by `gateways add` / `tokens create`.
struct PrintedToken {
    var token: String
    var accessKeyID: String
    var secret: String

    init(_ output: String) throws {
        func field(_ name: String) throws -> String {
            guard let line = output.split(separator: "\n").first(where: { $0.contains(name + ":") }),
                let value = line.split(separator: " ").last
            else { throw ServerError("no \(name) in output") }
            return String(value)
        }
        token = try field("token")
        accessKeyID = try field("access key id")
        secret = try field("secret access key")
    }
}
