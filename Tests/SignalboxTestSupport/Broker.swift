import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real Mosquitto on a free loopback port, with persistence in a temporary directory, for tests.
public final class Broker: @unchecked Sendable {  // the process is started and stopped by one test at a time
    public let port: Int
    public let directory: String
    private var process: Process?

    static var executable: String {
        ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        } ?? "mosquitto"
    }

    /// Starts a broker; `configuration` lines are added to the generated file. Without `anonymous`,
    /// clients must log in (give a `password_file` in `configuration`).
    public init(configuration: String = "", anonymous: Bool = true) throws {
        port = try Self.freePort()
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("signalbox-broker-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = """
            listener \(port) 127.0.0.1
            allow_anonymous \(anonymous)
            persistence true
            persistence_location \(directory)/
            autosave_interval 1
            max_queued_messages 100000
            max_inflight_messages 100
            log_dest file \(directory)/mosquitto.log
            log_type all
            \(geteuid() == 0 ? "user root" : "")
            \(configuration)
            """
        try file.write(toFile: "\(directory)/mosquitto.conf", atomically: true, encoding: .utf8)
        try start()
    }

    /// A Python program that clears the signal mask and executes its arguments.
    static let unblockingExec =
        "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.argv[1], sys.argv[1:])"

    public func start() throws {
        let process = Process()
        // The test process blocks SIGTERM in its threads and a spawned child inherits that mask, so
        // the broker would never see the signal that stops it cleanly: exec it with none blocked.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c", Self.unblockingExec, Self.executable, "-c", "\(directory)/mosquitto.conf",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Ready once it accepts connections.
        for _ in 0..<200 {
            if Self.accepts(port: port) { return }
            usleep(20_000)
        }
        throw BrokerError("mosquitto did not start listening on port \(port)")
    }

    /// Stops the broker gracefully (it saves its persistence file).
    public func stop() {
        guard let process else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    public func restart() throws {
        stop()
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `mosquitto_pub` or `mosquitto_sub` against this broker, with `input` on its standard input,
    /// on a thread of its own: a subscriber waiting out its `-W` must not hold a cooperative thread.
    @discardableResult
    public func run(_ tool: String, _ arguments: [String], input: String? = nil) async throws -> String {
        try await offPool { try self.runBlocking(tool, arguments, input: input) }
    }

    private func runBlocking(_ tool: String, _ arguments: [String], input: String?) throws -> String {
        let process = Process()
        // With no signal blocked (see `start()`), so that `-W` (a SIGALRM) can end a mosquitto_sub.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", "-c", Self.unblockingExec, "/usr/bin/\(tool)", "-h", "127.0.0.1", "-p", "\(port)"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw BrokerError(
                "\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus): \(text)")
        }
        return text
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BrokerError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw BrokerError("bind() failed") }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

public struct BrokerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
