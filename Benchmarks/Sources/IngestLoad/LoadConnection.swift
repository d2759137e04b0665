import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix

/// Where a run sends its requests, and how.
struct Target: Sendable {
    var host: String
    var port: Int
    var token: String
    var gateway: String
    /// Messages per request: 1 posts to `/topics/{topic}`, more to `/gateways/{gateway}/messages`.
    var batch: Int
    var payloadBytes: Int
    /// The time between two requests of one connection; nil sends each request as soon as the
    /// previous reply is in (closed loop).
    var interval: Duration?
    /// When connections stop sending.
    var end: ContinuousClock.Instant
}

/// What one connection saw.
struct ConnectionResult: Sendable {
    /// Request latency from the moment the request was written, in microseconds.
    var latency = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    /// Open loop only: latency from the moment the schedule said to send (coordinated omission
    /// corrected), in microseconds.
    var scheduledLatency = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    /// Requests that overlapped a rules reload (see ``LiveCounters/overlapsReload(sent:done:)``).
    var duringReload = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    /// Replies by HTTP status.
    var statuses: [Int: Int] = [:]
    /// Messages the server acknowledged (200 replies).
    var messagesAcknowledged = 0
    /// Messages sent in requests answered with anything but 200.
    var messagesRefused = 0
    /// Requests that failed without a reply (connection refused, reset or closed).
    var transportErrors = 0
    /// Requests sent more than a millisecond after their scheduled time.
    var lateSends = 0

    /// Adds what `other` saw.
    mutating func merge(_ other: ConnectionResult) {
        latency.add(other.latency)
        scheduledLatency.add(other.scheduledLatency)
        duringReload.add(other.duringReload)
        statuses.merge(other.statuses, uniquingKeysWith: +)
        messagesAcknowledged += other.messagesAcknowledged
        messagesRefused += other.messagesRefused
        transportErrors += other.transportErrors
        lateSends += other.lateSends
    }
}

/// The reply of one request, as far as the load generator cares.
struct Reply {
    var status = 0
    var messageID: Int64?
    var body = ByteBuffer()
}

/// The server closed the connection before the reply was complete.
struct ConnectionClosed: Error {}

/// Opens an HTTP/1.1 connection to `target`.
func connect(
    _ target: Target, group: MultiThreadedEventLoopGroup
) async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
    try await ClientBootstrap(group: group)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .connectTimeout(.seconds(5))
        .connect(host: target.host, port: target.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHTTPClientHandlers()
                return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                    wrappingChannelSynchronously: channel)
            }
        }
}

/// Sends one request and reads its whole reply; `keepBody` collects the body.
func exchange(
    _ parts: [HTTPClientRequestPart], keepBody: Bool,
    outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>,
    responses: inout NIOAsyncChannelInboundStream<HTTPClientResponsePart>.AsyncIterator
) async throws -> Reply {
    try await outbound.write(contentsOf: parts)
    var reply = Reply()
    while let part = try await responses.next() {
        switch part {
        case .head(let head):
            reply.status = Int(head.status.code)
            if let id = head.headers.first(name: "x-signalbox-message-id") { reply.messageID = Int64(id) }
        case .body(var buffer):
            if keepBody { reply.body.writeBuffer(&buffer) }
        case .end:
            return reply
        }
    }
    throw ConnectionClosed()
}

/// Runs connection `index` until `target.end`: builds readings, posts them, records each reply, and
/// reconnects (counting a transport error) when the connection fails, so a server restart
/// mid-run is survived.
func runConnection(
    _ index: Int, of connections: Int, devices: Int, target: Target, live: LiveCounters,
    group: MultiThreadedEventLoopGroup, seed: UInt64
) async -> ConnectionResult {
    let clock = ContinuousClock()
    var result = ConnectionResult()
    // A connection owns every `connections`-th device, so each fridge's `seq` only grows.
    let owned = devices >= connections ? Array(stride(from: index, to: devices, by: connections)) : Array(0..<devices)
    var telemetry = Telemetry(
        gateway: target.gateway, devices: owned, payloadBytes: target.payloadBytes, seed: seed &+ UInt64(index))
    let batchPath = "/gateways/\(Telemetry.percentEncoded(target.gateway))/messages"
    let hostHeader = "\(target.host):\(target.port)"
    var cursor: Int64 = 0
    // Connections start their schedules spread over one interval.
    var scheduled = clock.now + (target.interval.map { $0 * Double(index) / Double(connections) } ?? .zero)
    let allocator = ByteBufferAllocator()
    let estimate = target.batch * (target.payloadBytes + 80) + 16

    while clock.now < target.end {
        do {
            let channel = try await connect(target, group: group)
            try await channel.executeThenClose { inbound, outbound in
                var responses = inbound.makeAsyncIterator()
                while true {
                    if target.interval != nil, scheduled > clock.now {
                        try await Task.sleep(until: scheduled, tolerance: .microseconds(100), clock: clock)
                    }
                    if clock.now >= target.end { return }

                    var body = allocator.buffer(capacity: estimate)
                    var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "")
                    if target.batch == 1 {
                        head.uri = telemetry.writeSingle(into: &body)
                    } else {
                        telemetry.writeBatch(messages: target.batch, into: &body)
                        head.uri = cursor > 0 ? "\(batchPath)?cursor=\(cursor)" : batchPath
                    }
                    head.headers.add(name: "host", value: hostHeader)
                    head.headers.add(name: "authorization", value: "Bearer \(target.token)")
                    head.headers.add(name: "content-type", value: "application/json")
                    head.headers.add(name: "content-length", value: String(body.readableBytes))

                    let sent = clock.now
                    if target.interval != nil, sent - scheduled > .milliseconds(1) { result.lateSends += 1 }
                    live.inFlightRequests.add(1, ordering: .relaxed)
                    let reply: Reply
                    do {
                        reply = try await exchange(
                            [.head(head), .body(.byteBuffer(body)), .end(nil)], keepBody: target.batch > 1,
                            outbound: outbound, responses: &responses)
                    } catch {
                        live.inFlightRequests.subtract(1, ordering: .relaxed)
                        throw error
                    }
                    live.inFlightRequests.subtract(1, ordering: .relaxed)
                    let done = clock.now
                    let micros = microseconds(done - sent)
                    result.latency.record(micros)
                    if let interval = target.interval {
                        result.scheduledLatency.record(microseconds(done - scheduled))
                        scheduled += interval
                    }
                    if live.reloading, live.overlapsReload(sent: sent, done: done) {
                        result.duringReload.record(micros)
                    }
                    live.recordLatency(micros)
                    result.statuses[reply.status, default: 0] += 1

                    var acknowledged = 0
                    if reply.status == 200 {
                        if target.batch == 1 {
                            acknowledged = 1
                            live.acknowledge(first: reply.messageID ?? -1, count: 1)
                        } else if let batchReply = BatchReply(reply.body) {
                            acknowledged = batchReply.accepted
                            if let next = batchReply.cursor { cursor = next }
                            live.acknowledge(first: batchReply.firstID ?? -1, count: batchReply.accepted)
                        }
                    } else {
                        result.messagesRefused += target.batch
                    }
                    result.messagesAcknowledged += acknowledged
                    live.count(status: reply.status, messages: acknowledged)
                }
            }
            return result
        } catch {
            result.transportErrors += 1
            live.transportErrors.add(1, ordering: .relaxed)
            if target.interval != nil { scheduled = max(scheduled, clock.now) }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
    return result
}

/// What a batch reply says: `{"accepted": N, "first_id": …, "last_id": …, "changes": […], "cursor": C, "more": …}`.
struct BatchReply {
    var accepted: Int
    var firstID: Int64?
    var cursor: Int64?
    /// The desired-state changes in the message box.
    var changes: [Any]

    /// Parses a reply body; nil when it is not a batch reply.
    init?(_ body: ByteBuffer) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let accepted = (object["accepted"] as? NSNumber)?.intValue
        else { return nil }
        self.accepted = accepted
        self.firstID = (object["first_id"] as? NSNumber)?.int64Value
        self.cursor = (object["cursor"] as? NSNumber)?.int64Value
        self.changes = object["changes"] as? [Any] ?? []
    }
}

/// `duration` in whole microseconds, at least 1.
func microseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(1, seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
}
