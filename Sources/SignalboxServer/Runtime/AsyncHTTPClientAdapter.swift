import AsyncHTTPClient
import Logging
import NIOCore
import SignalboxCore

/// The handlers' ``SignalboxCore/HTTPClient`` over one shared AsyncHTTPClient client.
///
/// Requests end at their deadline (connecting included); at most ``maxResponseBytes`` of a
/// response body are read; redirects are not followed (a 3xx is returned as it is); only `http`
/// and `https` URLs are sent. Errors never contain the URL or the body, which may carry payload
/// values. Call ``shutdown()`` once, when nothing sends any more.
///
/// For example:
/// ```swift
/// let http = AsyncHTTPClientAdapter()
/// let response = try await http.send(
///     OutgoingHTTPRequest(url: "https://hooks.example.com/x", body: Array("{}".utf8)),
///     deadline: .now + .seconds(10))
/// try await http.shutdown()
/// ```
package final class AsyncHTTPClientAdapter: SignalboxCore.HTTPClient {
    /// Why a request got no response.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        /// What went wrong, without the URL or payload.
        package var description: String
    }

    /// The most bytes of a response body that are read; the rest is dropped.
    package static let maxResponseBytes = 64 * 1024

    private let client: AsyncHTTPClient.HTTPClient
    private let logger: Logger

    /// Creates a client on the shared event loop group.
    ///
    /// - Parameters:
    ///   - connectTimeout: The longest a connection may take (the request's deadline also applies).
    ///   - logger: For AsyncHTTPClient's background activity.
    package init(connectTimeout: Duration = .seconds(10), logger: Logger = Logger(label: "signalbox.http-client")) {
        var configuration = AsyncHTTPClient.HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .nanoseconds(Int64(Self.nanoseconds(connectTimeout)))))
        configuration.decompression = .disabled
        self.client = AsyncHTTPClient.HTTPClient(
            eventLoopGroup: AsyncHTTPClient.HTTPClient.defaultEventLoopGroup, configuration: configuration,
            backgroundActivityLogger: logger)
        self.logger = logger
    }

    package func send(_ request: OutgoingHTTPRequest, deadline: ContinuousClock.Instant) async throws
        -> HTTPResponseReceived
    {
        let lowered = request.url.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
            throw Failure(description: "only http and https URLs are supported")
        }
        let remaining = ContinuousClock.now.duration(to: deadline)
        guard remaining > .zero else { throw Failure(description: "the deadline passed before the request was sent") }
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = .init(rawValue: request.method)
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        if !request.body.isEmpty || request.method == "POST" || request.method == "PUT" {
            outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        }
        let nioDeadline = NIODeadline.now() + .nanoseconds(Int64(Self.nanoseconds(remaining)))
        do {
            let response = try await client.execute(outgoing, deadline: nioDeadline, logger: logger)
            var body: [UInt8] = []
            for try await buffer in response.body {
                body.append(contentsOf: buffer.readableBytesView.prefix(Self.maxResponseBytes - body.count))
                if body.count >= Self.maxResponseBytes { break }
            }
            return HTTPResponseReceived(
                status: Int(response.status.code), headers: response.headers.map { .init($0.name, $0.value) },
                body: body)
        } catch let error as HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                throw Failure(description: "no response before the deadline")
            case .connectTimeout:
                throw Failure(description: "connecting timed out")
            case .cancelled:
                throw CancellationError()
            default:
                throw Failure(description: "the request failed: \(error)")
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Failure(description: "the request failed: \(type(of: error))")
        }
    }

    /// Shuts the client down; in-flight requests fail.
    package func shutdown() async throws {
        try await client.shutdown()
    }

    /// `duration` in whole nanoseconds, clamped to `Int64`.
    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds > 0 ? .max : .min }
        let (total, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? .max : total
    }
}
