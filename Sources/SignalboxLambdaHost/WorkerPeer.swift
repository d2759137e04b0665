import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Keeps a worker's Runtime API to the worker: a connection is served only when its client socket
/// is one of the worker process's open files. Another local process that finds the listener's
/// port can neither take the worker's invocations nor answer them (403).
///
/// The client socket is found in `/proc/net/tcp` by the connection's two ports, and looked for among
/// `/proc/PID/fd` of the worker. A connection is checked once, on its first request; its later
/// requests (a runtime client that keeps the connection) are served on the strength of that check
/// while the connection lasts. A process the worker starts (its children) is refused like any other.
struct OwnWorkerOnly: RouterMiddleware {
    typealias Context = RuntimeRequestContext

    /// The worker's process id; 0 until it has started.
    let processID: @Sendable () -> Int32
    private let verified = ConnectionSet()

    init(processID: @escaping @Sendable () -> Int32) {
        self.processID = processID
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let channel = context.channel
        if !verified.contains(channel) {
            let pid = processID()
            guard pid > 0, let client = channel.remoteAddress?.port, let server = channel.localAddress?.port,
                WorkerPeer.process(pid, owns: client, connectedTo: server)
            else {
                var headers = HTTPFields()
                headers[.contentType] = "application/json"
                return Response(
                    status: .forbidden, headers: headers,
                    body: ResponseBody(
                        byteBuffer: ByteBuffer(
                            string:
                                #"{"errorMessage":"Only the worker may use its Runtime API","errorType":"Forbidden"}"#))
                )
            }
            verified.insert(channel)
        }
        return try await next(request, context)
    }
}

/// The request context of a worker's Runtime API: it knows its connection.
struct RuntimeRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// The connections already checked, each kept until it closes.
private final class ConnectionSet: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func contains(_ channel: any Channel) -> Bool {
        channels.withLock { $0[ObjectIdentifier(channel)] != nil }
    }

    func insert(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { _ in self.channels.withLock { _ = $0.removeValue(forKey: key) } }
    }
}

enum WorkerPeer {
    /// Whether process `pid` holds the client socket of the loopback TCP connection from
    /// `clientPort` to `serverPort`.
    static func process(_ pid: Int32, owns clientPort: Int, connectedTo serverPort: Int) -> Bool {
        guard let inode = socketInode(clientPort: clientPort, serverPort: serverPort) else { return false }
        let directory = "/proc/\(pid)/fd"
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return false }
        let target = "socket:[\(inode)]"
        return files.contains {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)")) == target
        }
    }

    /// The inode of the socket whose local port is `clientPort` and remote port `serverPort`, from
    /// `/proc/net/tcp` (IPv4, where 127.0.0.1 connections are).
    static func socketInode(clientPort: Int, serverPort: Int) -> String? {
        guard let data = readProcFile("/proc/net/tcp") else { return nil }
        let local = ":" + hex4(clientPort)
        let remote = ":" + hex4(serverPort)
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n").dropFirst() {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count > 9, fields[1].hasSuffix(local), fields[2].hasSuffix(remote) else { continue }
            return String(fields[9])
        }
        return nil
    }

    /// The whole of a `/proc` file (whose size `stat` reports as 0, and which comes a page per read).
    static func readProcFile(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return count == 0 ? bytes : nil }
            bytes += chunk[0..<count]
        }
    }

    private static func hex4(_ port: Int) -> String {
        let digits = String(port, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
