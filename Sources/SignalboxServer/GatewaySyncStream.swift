import Logging
import ServiceLifecycle
import SignalboxCore
import SignalboxJSON
import SignalboxShadows

/// Publishes the gateway sync stream over MQTT: each desired-state change of a shadow whose thing is
/// bound to a gateway goes to `$signalbox/gateways/{gateway}/sync`, in the shape of a
/// `GET /gateways/{gateway}/sync` reply (`{"cursor", "changes", "more": false}`).
///
/// It follows the shadow change log from a saved cursor. A page of up to 1,000 changed shadows is
/// published (QoS 1, one message per gateway concerned) and the cursor saved only once the broker has
/// acknowledged every message of the page: after a crash or a broker outage the stream resumes where
/// it was, and a gateway may see a page again but never misses one. A gateway that lost its MQTT
/// session catches up with `GET /gateways/{gateway}/sync?cursor=` from the last cursor it applied.
package struct GatewaySyncStream: Service {
    /// The name the stream's position is saved under.
    package static let cursorName = "mqtt-gateway-sync"

    private let shadows: ShadowService
    private let registry: any IdentityRegistry
    private let cursors: any StreamCursorStore
    private let publisher: any MessagePublisher
    private let pageSize: Int
    private let maxMessageBytes: Int
    private let logger: Logger

    /// The topic gateway `gateway`'s stream is published on.
    package static func topic(of gateway: String) -> String { "$signalbox/gateways/\(gateway)/sync" }

    /// - Parameters:
    ///   - publisher: The broker (``MessagePublisher/deliver(_:)`` returns once it acknowledged).
    ///   - pageSize: The most changed shadows read, and published, at a time.
    ///   - maxMessageBytes: A gateway's share of a page larger than this is split into several messages.
    package init(
        shadows: ShadowService, registry: any IdentityRegistry, cursors: any StreamCursorStore,
        publisher: any MessagePublisher, pageSize: Int = 1_000, maxMessageBytes: Int = 128 * 1024,
        logger: Logger = Logger(label: "signalbox.mqtt")
    ) {
        self.shadows = shadows
        self.registry = registry
        self.cursors = cursors
        self.publisher = publisher
        self.pageSize = max(1, pageSize)
        self.maxMessageBytes = max(1, maxMessageBytes)
        self.logger = logger
    }

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            // The first start streams what changes from then on; gateways sync over HTTP for the past.
            var cursor: Int64? = nil
            while !Task.isCancelled {
                do {
                    if cursor == nil { cursor = try await startingCursor() }
                    cursor = try await publishPage(after: cursor ?? 0)
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("gateway sync stream: publishing failed", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    /// The saved cursor; on the first start, the newest change, saved at once so that a change
    /// made before a crash is still streamed after it.
    private func startingCursor() async throws -> Int64 {
        if let saved = try await cursors.cursor(named: Self.cursorName) { return saved }
        let now = shadows.signal.sequence
        try await cursors.save(now, named: Self.cursorName)
        return now
    }

    /// Publishes the page after `cursor` (waiting for a change when there is none); returns the new cursor.
    private func publishPage(after cursor: Int64) async throws -> Int64 {
        let page = try await shadows.syncPage(after: cursor, limit: pageSize)
        if page.entries.isEmpty {
            await shadows.signal.wait(beyond: page.cursor, timeout: .seconds(5))
            if Task.isCancelled { throw CancellationError() }
            return page.cursor
        }
        // The page's entries by gateway, in change order; things bound to no gateway are not streamed.
        var gatewayOf: [String: String?] = [:]
        var changes: [String: [Value]] = [:]
        for (thing, entry) in page.entries {
            if gatewayOf[thing] == nil { gatewayOf[thing] = .some(try await registry.gateway(of: thing)) }
            guard let gateway = gatewayOf[thing] ?? nil else { continue }
            changes[gateway, default: []].append(entry)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (gateway, entries) in changes {
                let messages = Self.messages(
                    entries, topic: Self.topic(of: gateway), from: cursor, to: page.cursor, maxBytes: maxMessageBytes)
                group.addTask { try await publish(messages, gateway: gateway, from: cursor) }
            }
            try await group.waitForAll()
        }
        try await cursors.save(page.cursor, named: Self.cursorName)
        return page.cursor
    }

    /// Publishes a gateway's messages in order; anything that may pass later is thrown, to try again.
    /// When the broker can never take one (too large, refused), the rest of the gateway's share is
    /// replaced by `{"cursor": from, "changes": [], "more": true}`: the gateway's cursor stays before
    /// what it missed, and `more` sends it to `GET /gateways/{gateway}/sync` for it.
    private func publish(_ messages: [OutgoingMessage], gateway: String, from cursor: Int64) async throws {
        for message in messages {
            do {
                try await publisher.deliver([message])
            } catch let error as UndeliverableMessage {
                logger.error(
                    "gateway sync stream: a message the broker cannot take was replaced by a pointer to HTTP sync",
                    metadata: [
                        "gateway": "\(gateway)", "mqtt.topic": "\(message.topic)",
                        "payload.bytes": "\(message.payload.count)", "error": "\(error)",
                    ])
                let pointer = Self.messages([], topic: message.topic, from: cursor, to: cursor, maxBytes: 1, more: true)
                do {
                    try await publisher.deliver(pointer)
                } catch let error as UndeliverableMessage {
                    logger.error(
                        "gateway sync stream: the broker refuses the gateway's stream",
                        metadata: ["gateway": "\(gateway)", "mqtt.topic": "\(message.topic)", "error": "\(error)"])
                }
                return
            }
        }
    }

    /// A gateway's entries of a page (`from` → `to`) as sync replies of about `maxBytes` of entries
    /// each (an entry larger than that alone). All but the last say `"more": true` and keep the cursor
    /// at `from`, so a gateway that stops between them misses nothing when it syncs from its cursor;
    /// the last says `more`.
    package static func messages(
        _ entries: [Value], topic: String, from: Int64, to: Int64, maxBytes: Int, more: Bool = false
    ) -> [OutgoingMessage] {
        var chunks: [[Value]] = [[]]
        var size = 0
        for entry in entries {
            let bytes = JSONSerializer.bytes(entry).count + 1
            if !(chunks[chunks.count - 1].isEmpty) && size + bytes > maxBytes {
                chunks.append([])
                size = 0
            }
            chunks[chunks.count - 1].append(entry)
            size += bytes
        }
        return chunks.enumerated().map { index, chunk in
            let last = index == chunks.count - 1
            let reply = ShadowService.syncReply(cursor: last ? to : from, entries: chunk, more: !last || more)
            return OutgoingMessage(topic: topic, payload: JSONSerializer.bytes(reply))
        }
    }
}
