import ArgumentParser
import Foundation
import SignalboxJSON

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How the commands that talk to a running server find it, all in the same way:
///
/// 1. `--url`, when given;
/// 2. else `$SIGNALBOX_URL`, when set and not empty;
/// 3. else the address the server running over the data directory (`--data`, default `./data`)
///    recorded in `server.json` there when it started listening (``ServerAddressFile``).
///
/// For example, a command that needs the server:
/// ```swift
/// struct Throttles: AsyncParsableCommand {
///     @OptionGroup var server: ServerOptions
///     func run() async throws {
///         let body = try await server.client().call("GET", "/admin/throttles")
///     }
/// }
/// ```
enum ServerDiscovery {
    /// The environment variable that names the server's base URL.
    static let environmentVariable = "SIGNALBOX_URL"

    /// A URL given explicitly: `url`, else a non-empty `$SIGNALBOX_URL`; nil when neither is.
    static func explicitURL(_ url: String?) -> String? {
        if let url { return url }
        guard let value = ProcessInfo.processInfo.environment[environmentVariable], !value.isEmpty else { return nil }
        return value
    }

    /// The base URL of the server to talk to (see ``ServerDiscovery``).
    ///
    /// - Throws: `ValidationError` for a URL that is not `http(s)://host…`; ``CommandFailure`` when no
    ///   URL is given and no server is running over `data`, saying what to do.
    static func locate(url: String?, data: String) throws -> URL {
        if let given = explicitURL(url) {
            let source = url != nil ? "--url" : "$\(environmentVariable)"
            return try parse(given, source: source)
        }
        switch ServerAddressFile.read(directory: data) {
        case .running(let address):
            return try parse(address.url, source: "\(ServerAddressFile.path(in: data))")
        case .none:
            throw CommandFailure(
                "no Signalbox server is running over the data directory '\(data)' (it has no "
                    + "\(ServerAddressFile.name)); start one with 'signalbox serve --data \(data)', or give --url "
                    + "or $\(environmentVariable)")
        case .stale(let pid):
            throw CommandFailure(
                "no Signalbox server is running over the data directory '\(data)': the server that recorded its "
                    + "address there (process \(pid)) has exited; start one with 'signalbox serve --data \(data)', "
                    + "or give --url or $\(environmentVariable)")
        case .unreadable:
            throw CommandFailure(
                "\(ServerAddressFile.path(in: data)) cannot be read or is not what 'signalbox serve' writes; "
                    + "give --url or $\(environmentVariable)")
        }
    }

    private static func parse(_ text: String, source: String) throws -> URL {
        guard let base = URL(string: text), let scheme = base.scheme?.lowercased(), ["http", "https"].contains(scheme),
            base.host != nil
        else {
            throw ValidationError("\(source) must be an http or https URL, such as http://127.0.0.1:8080")
        }
        return base
    }
}

/// `server.json` in a data directory: where the server running over it listens, and its process
/// id. `signalbox serve` writes it (mode 0600) once it listens and removes it when it stops; a
/// server killed with `kill -9` leaves it behind, and readers then find its process gone.
///
/// ```json
/// {"url": "http://127.0.0.1:8080", "pid": 4242}
/// ```
enum ServerAddressFile {
    /// The file's name inside the data directory.
    static let name = "server.json"

    /// What the file says.
    struct Address: Sendable, Hashable {
        /// The base URL a client on this machine reaches the server at.
        var url: String
        /// The server's process id.
        var pid: Int32
    }

    /// What reading the file found.
    enum Lookup: Sendable, Hashable {
        /// No file: no server is running over the directory.
        case none
        /// A server that is running (its process exists).
        case running(Address)
        /// The file of a server whose process has exited.
        case stale(pid: Int32)
        /// A file that cannot be read or parsed.
        case unreadable
    }

    /// The file's path in `directory`.
    static func path(in directory: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(name).path
    }

    /// The URL clients use for a server listening on `host:port`: a wildcard address becomes the
    /// loopback address of its family, and an IPv6 address gets brackets.
    static func clientURL(scheme: String, host: String, port: Int) -> String {
        var host = host
        if host == "0.0.0.0" || host.isEmpty { host = "127.0.0.1" }
        if host == "::" { host = "::1" }
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        return "\(scheme)://\(host):\(port)"
    }

    /// Records `url` and this process's id in `directory`, readable by the owner only; replaces the
    /// file atomically.
    static func record(url: String, directory: String) throws {
        let object: Value = ["url": .string(url), "pid": .int(Int64(getpid()))]
        let target = path(in: directory)
        let temporary = target + ".\(getpid()).tmp"
        let bytes = Array((JSONSerializer.string(object) + "\n").utf8)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw CommandFailure("cannot write \(temporary): \(errnoText())") }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == bytes.count, rename(temporary, target) == 0 else {
            let reason = errnoText()
            unlink(temporary)
            throw CommandFailure("cannot write \(target): \(reason)")
        }
    }

    /// Removes the file if this process wrote it.
    static func remove(directory: String) {
        if case .running(let address) = read(directory: directory), address.pid == getpid() {
            unlink(path(in: directory))
        }
    }

    /// Reads the file in `directory`.
    static func read(directory: String) -> Lookup {
        let file = path(in: directory)
        guard FileManager.default.fileExists(atPath: file) else { return .none }
        guard let data = FileManager.default.contents(atPath: file), data.count <= 4096,
            let value = try? JSONParser.parse(Array(data)),
            case .string(let url)? = value["url"], case .int(let pid)? = value["pid"],
            let pid32 = Int32(exactly: pid), pid32 > 0
        else { return .unreadable }
        if kill(pid32, 0) != 0 && errno == ESRCH { return .stale(pid: pid32) }
        return .running(Address(url: url, pid: pid32))
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
