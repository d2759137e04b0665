#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A Lambda runtime client for a Swift executable: the `bootstrap` of a `provided` function, on
/// Signalbox or on AWS Lambda.
///
/// ```swift
/// import SignalboxLambdaRuntime
///
/// struct Reading: Codable { var temp: Double }
/// struct Verdict: Codable { var alarm: Bool }
///
/// let runtime = LambdaRuntime { (reading: Reading, context: LambdaContext) in
///     Verdict(alarm: reading.temp > 8)
/// }
/// try await runtime.run()
/// ```
///
/// The shape follows the Swift AWS Lambda Runtime's `LambdaRuntime { event, context in … }`, so a
/// function moves to AWS by changing its dependency. It speaks the Lambda Runtime API at
/// `$AWS_LAMBDA_RUNTIME_API` (a literal `IP:PORT`): it takes each invocation, decodes the event as
/// JSON into `Event`, runs the handler, and posts its result encoded as JSON, or its error (Lambda's
/// error document: `errorMessage`, `errorType`). One invocation at a time, as Lambda runs them.
public struct LambdaRuntime<Event: Decodable, Output: Encodable>: Sendable {
    private let handler: @Sendable (Event, LambdaContext) async throws -> Output

    /// A runtime that runs `handler` for each invocation.
    public init(body handler: @escaping @Sendable (Event, LambdaContext) async throws -> Output) {
        self.handler = handler
    }

    /// Takes invocations until the process is stopped. Fails (after reporting an init error) only
    /// when `AWS_LAMBDA_RUNTIME_API` is missing or the Runtime API cannot be reached.
    public func run() async throws {
        guard let endpoint = getenv("AWS_LAMBDA_RUNTIME_API").map({ String(cString: $0) }) else {
            throw LambdaRuntimeError("AWS_LAMBDA_RUNTIME_API is not set: run this as a Lambda function's bootstrap")
        }
        let client = try RuntimeAPIClient(endpoint: endpoint)
        while true {
            let next = try client.request("GET", "/2018-06-01/runtime/invocation/next")
            guard next.status == 200, let requestID = next.headers["lambda-runtime-aws-request-id"] else {
                throw LambdaRuntimeError("the Runtime API answered \(next.status) to invocation/next")
            }
            let context = LambdaContext(
                requestID: requestID, traceID: next.headers["lambda-runtime-trace-id"] ?? "",
                invokedFunctionARN: next.headers["lambda-runtime-invoked-function-arn"] ?? "",
                deadlineMilliseconds: Int64(next.headers["lambda-runtime-deadline-ms"] ?? "") ?? 0,
                clientContext: next.headers["lambda-runtime-client-context"])
            setenv("_X_AMZN_TRACE_ID", context.traceID, 1)
            let path = "/2018-06-01/runtime/invocation/\(requestID)"
            do {
                let event = try JSONDecoder().decode(Event.self, from: Data(next.body))
                let output = try await handler(event, context)
                _ = try client.request("POST", path + "/response", body: Array(try JSONEncoder().encode(output)))
            } catch {
                let document = ErrorDocument(
                    errorMessage: String(describing: error), errorType: String(describing: type(of: error)))
                _ = try client.request(
                    "POST", path + "/error", headers: [("Lambda-Runtime-Function-Error-Type", "Unhandled")],
                    body: Array(try JSONEncoder().encode(document)))
            }
        }
    }
}

/// What an invocation knows of itself.
public struct LambdaContext: Sendable {
    /// The request id (`context.aws_request_id` in Python).
    public let requestID: String
    /// The X-Ray trace header.
    public let traceID: String
    /// The function (with the version or alias) invoked.
    public let invokedFunctionARN: String
    /// When the invocation times out, in milliseconds since the Unix epoch.
    public let deadlineMilliseconds: Int64
    /// The caller's client context (JSON), when it sent one; a rule's `lambda` action sends
    /// `{"custom": {"idempotency_key": KEY}}`.
    public let clientContext: String?

    /// The time left before the deadline.
    public func getRemainingTime() -> Duration {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nowMilliseconds = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        return .milliseconds(max(0, deadlineMilliseconds - nowMilliseconds))
    }
}

/// Why the runtime could not go on.
public struct LambdaRuntimeError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

private struct ErrorDocument: Encodable {
    var errorMessage: String
    var errorType: String
    var stackTrace: [String] = []
}

/// HTTP/1.1 over one kept-alive TCP connection to the Runtime API (blocking: the process does
/// nothing else while it waits for work).
private final class RuntimeAPIClient: @unchecked Sendable {  // used by the run loop alone
    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
    }

    private let host: String
    private let port: UInt16
    private var descriptor: Int32 = -1

    init(endpoint: String) throws {
        guard let colon = endpoint.lastIndex(of: ":"), let port = UInt16(endpoint[endpoint.index(after: colon)...])
        else { throw LambdaRuntimeError("AWS_LAMBDA_RUNTIME_API must be IP:PORT") }
        host = String(endpoint[..<colon])
        self.port = port
    }

    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> Reply
    {
        // A kept-alive connection the server closed meanwhile fails once: connect again.
        do {
            return try send(method, path, headers: headers, body: body)
        } catch {
            close()
            return try send(method, path, headers: headers, body: body)
        }
    }

    private func send(_ method: String, _ path: String, headers: [(String, String)], body: [UInt8]) throws -> Reply {
        if descriptor < 0 { try connect() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if method != "GET" { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        try write(Array((head + "\r\n").utf8) + body)
        return try readReply()
    }

    private func connect() throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw LambdaRuntimeError("AWS_LAMBDA_RUNTIME_API must be a literal IPv4 address and port")
        }
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw LambdaRuntimeError("socket() failed") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            _ = Glibc.close(fd)
            throw LambdaRuntimeError("cannot connect to the Runtime API at \(host):\(port)")
        }
        var on: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        descriptor = fd
    }

    private func close() {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
        descriptor = -1
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw LambdaRuntimeError("the Runtime API connection closed") }
            sent += count
        }
    }

    private var buffer: [UInt8] = []

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw LambdaRuntimeError("the Runtime API connection closed") }
            buffer += chunk[0..<count]
            return
        }
    }

    private func readReply() throws -> Reply {
        let separator: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while end == nil {
            if let found = buffer.firstRange(of: separator) { end = found.upperBound } else { try fill() }
        }
        let headEnd = end!
        let lines = String(decoding: buffer[..<(headEnd - 4)], as: UTF8.self).split(separator: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
            throw LambdaRuntimeError("the Runtime API sent a malformed reply")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            headers[line[..<colon].lowercased()] = String(value.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
        }
        guard let length = Int(headers["content-length"] ?? "0"), length >= 0 else {
            throw LambdaRuntimeError("the Runtime API sent a reply without a length")
        }
        while buffer.count < headEnd + length { try fill() }
        let body = Array(buffer[headEnd..<(headEnd + length)])
        buffer.removeFirst(headEnd + length)
        return Reply(status: status, headers: headers, body: body)
    }
}
