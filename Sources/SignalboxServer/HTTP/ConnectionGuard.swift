import HTTPTypes
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import NIOHTTPTypes
import Synchronization

/// The listener's protections against clients that hold connections without finishing requests:
/// deadlines for a request's header and body, an idle timeout between keep-alive requests, and a
/// bound on open connections. Every default is in `init`.
package struct ListenerLimits: Sendable, Hashable {
    /// How long a client has to send a request's whole header, from the connection's start or the
    /// first byte of the request (default 10 s). Then the connection is closed.
    package var headerTimeout: Duration
    /// How long a client has to send a request's whole body once its header is in (default 10 s).
    /// Then the connection is closed.
    package var bodyTimeout: Duration
    /// How long a keep-alive connection may stay idle between requests (default 60 s).
    package var idleTimeout: Duration
    /// Most connections served at once (default 4,096). Past it, a few more are accepted only to
    /// answer `/healthz` and `/readyz` and to refuse every other request with 503; past those, new
    /// connections are closed at once.
    package var maxConnections: Int

    /// Creates the limits.
    package init(
        headerTimeout: Duration = .seconds(10), bodyTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60),
        maxConnections: Int = 4096
    ) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }

    /// Connections accepted past ``maxConnections`` to answer health checks: 1/32 of the limit, at
    /// least 16.
    package var overflowConnections: Int { max(16, maxConnections / 32) }
}

/// Open connections, shared by every connection's guard.
package final class ConnectionCount: Sendable {
    private let value = Atomic<Int>(0)

    /// Creates a count of zero.
    package init() {}

    /// The connections open now.
    package var current: Int { value.load(ordering: .relaxed) }

    /// Counts a new connection; returns the count with it.
    func open() -> Int { value.add(1, ordering: .relaxed).newValue }

    /// Counts a closed connection.
    func close() { value.subtract(1, ordering: .relaxed) }
}

/// The deadline a connection is under, as a state machine driven by what it reads and writes.
///
/// A connection starts waiting for a request header; a complete header starts the body deadline;
/// the end of the request stops the clock while the server answers; the end of the response starts
/// the idle timeout, and the first byte of the next request the header deadline again.
struct ConnectionDeadlines {
    /// What the connection is waiting for.
    enum Phase: Equatable {
        /// A request's header (at the start, or after the first byte of a keep-alive request).
        case header
        /// The body of a request whose header is in.
        case body
        /// Nothing from the client: the server is answering.
        case answering
        /// The next keep-alive request.
        case idle
    }

    /// Why a connection was closed.
    enum Expiry: String {
        case header = "header_timeout"
        case body = "body_timeout"
        case idle = "idle_timeout"
        /// The client stopped reading what the server sends.
        case stalled = "send_timeout"
    }

    let limits: ListenerLimits
    private(set) var phase: Phase = .header
    /// Requests whose header is in and whose response has not ended.
    private var unanswered = 0
    /// Whether the request being read has ended.
    private var requestEnded = true

    init(limits: ListenerLimits) { self.limits = limits }

    /// How long the current phase may last, or nil for no limit.
    var timeout: Duration? {
        switch phase {
        case .header: limits.headerTimeout
        case .body: limits.bodyTimeout
        case .answering: nil
        case .idle: limits.idleTimeout
        }
    }

    /// What a timeout in the current phase means.
    var expiry: Expiry? {
        switch phase {
        case .header: .header
        case .body: .body
        case .answering: nil
        case .idle: .idle
        }
    }

    /// Bytes arrived; returns whether the phase changed.
    mutating func bytesReceived() -> Bool {
        guard phase == .idle else { return false }
        phase = .header
        return true
    }

    /// A request header arrived.
    mutating func headReceived() -> Bool {
        unanswered += 1
        requestEnded = false
        phase = .body
        return true
    }

    /// The request being read ended.
    mutating func requestEndReceived() -> Bool {
        requestEnded = true
        let next: Phase = unanswered > 0 ? .answering : .idle
        defer { phase = next }
        return next != phase
    }

    /// A response ended.
    mutating func responseEnded() -> Bool {
        unanswered = max(0, unanswered - 1)
        // A response sent before its request's body was read (413, 429, 401) keeps the body deadline.
        guard requestEnded, unanswered == 0 else { return false }
        defer { phase = .idle }
        return phase != .idle
    }
}

/// Watches a connection's raw bytes: counts the connection against ``ListenerLimits/maxConnections``
/// and closes it when the deadline of ``ConnectionDeadlines`` passes. First in the pipeline (after TLS).
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var deadlines: ConnectionDeadlines
    private let count: ConnectionCount
    private let metrics: ListenerMetrics
    private var timer: Scheduled<Void>?
    /// Runs while the connection cannot take more output: a client that stops reading its responses
    /// is closed after ``ListenerLimits/idleTimeout``, whatever the phase.
    private var stallTimer: Scheduled<Void>?
    private var counted = false
    /// Whether this connection is past the limit: served only for health checks.
    private(set) var isOverflow = false

    init(limits: ListenerLimits, count: ConnectionCount, metrics: ListenerMetrics) {
        self.deadlines = ConnectionDeadlines(limits: limits)
        self.count = count
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let open = count.open()
        counted = true
        let limits = deadlines.limits
        if open > limits.maxConnections + limits.overflowConnections {
            metrics.refused.increment()
            context.close(promise: nil)
            return
        }
        if open > limits.maxConnections { isOverflow = true }
        schedule(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    /// Stops the timers and gives the connection's place back, once.
    private func release() {
        timer?.cancel()
        timer = nil
        stallTimer?.cancel()
        stallTimer = nil
        if counted {
            counted = false
            count.close()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if deadlines.bytesReceived() { schedule(context) }
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stallTimer?.cancel()
            stallTimer = nil
        } else if stallTimer == nil {
            let metrics = self.metrics
            stallTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(deadlines.limits.idleTimeout)) {
                [self] in
                stallTimer = nil
                metrics.closed(.stalled).increment()
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// The request parts and response ends seen by ``RequestPhaseHandler``.
    func headReceived(context: ChannelHandlerContext) { if deadlines.headReceived() { schedule(context) } }
    func requestEndReceived(context: ChannelHandlerContext) {
        if deadlines.requestEndReceived() { schedule(context) }
    }
    func responseEnded(context: ChannelHandlerContext) { if deadlines.responseEnded() { schedule(context) } }

    private func schedule(_ context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        guard let timeout = deadlines.timeout, let expiry = deadlines.expiry else { return }
        let phase = deadlines.phase
        let loop = context.eventLoop.assumeIsolated()
        timer = loop.scheduleTask(in: TimeAmount(timeout)) { [self] in
            timer = nil
            guard deadlines.phase == phase else { return }
            metrics.closed(expiry).increment()
            context.close(promise: nil)
        }
    }
}

/// Follows a connection's HTTP requests and responses for its ``ConnectionGuard`` (added after the
/// HTTP codec), and, on a connection past the limit, answers everything but health checks with 503.
final class RequestPhaseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var connectionGuard: ConnectionGuard?
    private var guardContext: ChannelHandlerContext?
    /// Whether the request being read is swallowed (refused on an overflow connection).
    private var refusing = false
    private var closeAfterResponse = false

    init() {}

    func handlerAdded(context: ChannelHandlerContext) {
        if let found = try? context.pipeline.syncOperations.handler(type: ConnectionGuard.self),
            let foundContext = try? context.pipeline.syncOperations.context(handlerType: ConnectionGuard.self)
        {
            connectionGuard = found
            guardContext = foundContext
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            if let connectionGuard, let guardContext { connectionGuard.headReceived(context: guardContext) }
            if connectionGuard?.isOverflow == true {
                closeAfterResponse = true
                if !Self.isHealthCheck(head) {
                    refusing = true
                    refuse(context: context)
                    return
                }
            }
        case .body:
            if refusing { return }
        case .end:
            if let connectionGuard, let guardContext { connectionGuard.requestEndReceived(context: guardContext) }
            if refusing { return }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        if let connectionGuard, let guardContext { connectionGuard.responseEnded(context: guardContext) }
        if closeAfterResponse {
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(data, promise: written)
            let channel = context.channel
            written.futureResult.whenComplete { result in
                promise?.completeWith(result)
                channel.close(promise: nil)
            }
        } else {
            context.write(data, promise: promise)
        }
    }

    /// `GET /healthz` and `GET /readyz`, with or without a query.
    static func isHealthCheck(_ head: HTTPRequest) -> Bool {
        guard head.method == .get || head.method == .head, let path = head.path else { return false }
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return bare == "/healthz" || bare == "/readyz"
    }

    private func refuse(context: ChannelHandlerContext) {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.retryAfter] = "1"
        fields[.connection] = "close"
        let body = ByteBuffer(string: #"{"message":"Too many connections; retry later"}"#)
        fields[.contentLength] = String(body.readableBytes)
        context.write(
            wrapOutboundOut(.head(HTTPResponse(status: .serviceUnavailable, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Counters of connections the listener closed or refused.
struct ListenerMetrics: Sendable {
    /// Connections closed at once because even the health-check allowance was taken.
    let refused: Counter

    init() {
        refused = Counter(label: "signalbox_http_connections_refused_total")
    }

    /// Connections closed because a deadline passed.
    func closed(_ expiry: ConnectionDeadlines.Expiry) -> Counter {
        Counter(label: "signalbox_http_connections_timed_out_total", dimensions: [("reason", expiry.rawValue)])
    }
}

/// A child channel whose connections are guarded: ``ConnectionGuard`` goes first in the pipeline,
/// then `base` sets up the rest.
struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let limits: ListenerLimits
    let count: ConnectionCount
    let metrics: ListenerMetrics

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let limits = self.limits
        let count = self.count
        let metrics = self.metrics
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(
                ConnectionGuard(limits: limits, count: count, metrics: metrics))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with every connection guarded by `limits` (see ``ListenerLimits``).
    static func guardedHTTP1(limits: ListenerLimits, count: ConnectionCount) -> HTTPServerBuilder {
        let metrics = ListenerMetrics()
        return HTTPServerBuilder { responder in
            GuardedChildChannel(
                base: HTTP1Channel(
                    responder: responder,
                    configuration: HTTP1Channel.Configuration(additionalChannelHandlers: [RequestPhaseHandler()])),
                limits: limits, count: count, metrics: metrics)
        }
    }
}
