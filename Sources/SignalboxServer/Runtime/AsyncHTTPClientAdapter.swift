import AsyncHTTPClient
import Logging
import NIOCore
import SignalboxCore

/// The handlers' ``SignalboxCore/HTTPClient`` over one shared AsyncHTTPClient client.
///
/// Requests end at their deadline (connecting included, and connecting alone after
/// ``defaultConnectTimeout``); at most ``maxResponseBytes`` of a response body are read; redirects
/// are not followed (a 3xx is returned as it is); only `http` and `https` URLs are sent. A failed
/// connection (refused, unreachable, a name that does not resolve) fails the request at once,
/// instead of being tried again until the connect timeout: the runtime retries the invocation per
/// its action's `retry:` policy. Errors name the scheme, host and port and the reason
/// (`cannot connect to http://127.0.0.1:9: connection refused`), never the path, query, user
/// information or body, which may carry payload values or secrets. Call ``shutdown()`` once, when
/// nothing sends any more.
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
        /// What went wrong, naming at most the scheme, host and port of the URL, never its path,
        /// query or the payload.
        package var description: String
    }

    /// How long connecting may take when the request's deadline is further away.
    package static let defaultConnectTimeout = Duration.seconds(5)

    /// The most bytes of a response body the handlers read; the rest is dropped.
    package static let maxResponseBytes = 64 * 1024

    private let client: AsyncHTTPClient.HTTPClient
    private let logger: Logger
    private let responseLimit: Int

    /// Creates a client on the shared event loop group.
    ///
    /// - Parameters:
    ///   - connectTimeout: The longest a connection may take (the request's deadline also applies).
    ///   - maxResponseBytes: The most bytes of a response body that are read; the rest is dropped.
    ///   - logger: For AsyncHTTPClient's background activity.
    package init(
        connectTimeout: Duration = AsyncHTTPClientAdapter.defaultConnectTimeout,
        maxResponseBytes: Int = AsyncHTTPClientAdapter.maxResponseBytes,
        logger: Logger = Logger(label: "signalbox.http-client")
    ) {
        var configuration = AsyncHTTPClient.HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .nanoseconds(Int64(Self.nanoseconds(connectTimeout)))))
        configuration.decompression = .disabled
        // By default AsyncHTTPClient keeps trying to connect, with backoff, until the connect timeout
        // and only then fails the request: a refused connection took the whole timeout and hid its
        // reason. Failing at once leaves the retrying to the action's own policy.
        configuration.connectionPool.retryConnectionEstablishment = false
        self.client = AsyncHTTPClient.HTTPClient(
            eventLoopGroup: AsyncHTTPClient.HTTPClient.defaultEventLoopGroup, configuration: configuration,
            backgroundActivityLogger: logger)
        self.logger = logger
        self.responseLimit = maxResponseBytes
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
                body.append(contentsOf: buffer.readableBytesView.prefix(responseLimit - body.count))
                if body.count >= responseLimit { break }
            }
            return HTTPResponseReceived(
                status: Int(response.status.code), headers: response.headers.map { .init($0.name, $0.value) },
                body: body)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .cancelled {
            throw CancellationError()
        } catch {
            throw Failure(url: request.url, error: error)
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
