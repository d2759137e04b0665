import Logging
import SignalboxCore
import SignalboxJSON
import SignalboxSQL

/// The Device Shadow service: validates requests, applies them atomically through a
/// ``ShadowStorage``, publishes the `delta` and `documents` events, and serves gateway sync.
///
/// Transports (HTTP now, MQTT later) call it with raw request bodies and get back the reply document
/// or a ``ShadowError`` whose code and message are AWS's.
///
/// For example:
/// ```swift
/// let service = ShadowService(storage: InMemoryShadowStorage())
/// let reply = try await service.update(ShadowKey(thing: "fridge-7"), body: Array(#"{"state":{"desired":{"maxTemp":5}}}"#.utf8))
/// ```
package struct ShadowService: ShadowDocuments {
    /// Where shadows live.
    package let storage: any ShadowStorage
    /// The document algebra and its limits.
    package let engine: ShadowEngine
    /// Where `delta` and `documents` events go.
    package let publisher: any MessagePublisher
    /// Wakes long-polling gateway syncs.
    package let signal: ChangeSignal
    /// Seconds since the Unix epoch.
    package let clock: @Sendable () -> Int64
    private let logger: Logger

    /// Creates the service.
    ///
    /// - Parameters:
    ///   - storage: Where shadows live.
    ///   - limits: The limits to enforce.
    ///   - publisher: Where `delta` and `documents` events go.
    ///   - signal: Wakes long-polling syncs; start it at the storage's latest sequence.
    ///   - clock: Seconds since the Unix epoch.
    ///   - logger: Where storage failures are logged.
    package init(
        storage: any ShadowStorage, limits: ShadowLimits = ShadowLimits(),
        publisher: any MessagePublisher = DiscardingPublisher(), signal: ChangeSignal = ChangeSignal(),
        clock: @escaping @Sendable () -> Int64 = { WallClock.system.seconds() },
        logger: Logger = Logger(label: "signalbox.shadows")
    ) {
        self.storage = storage
        self.engine = ShadowEngine(limits: limits)
        self.publisher = publisher
        self.signal = signal
        self.clock = clock
        self.logger = logger
    }

    /// The limits every shadow is held to.
    package var limits: ShadowLimits { engine.limits }

    /// `get_shadow()` over the store.
    package var lookup: any ShadowLookup { StoredShadowLookup(storage: storage) }

    /// Updates (creating if needed) the shadow `key` with the request `body`.
    ///
    /// - Returns: The accepted reply: the request's state, its metadata, the new version, timestamp
    ///   and clientToken.
    package func update(_ key: ShadowKey, body: [UInt8]) async throws(ShadowError) -> Value {
        try key.validate(engine.limits)
        let request = try engine.parseUpdate(body)
        let engine = self.engine
        let now = clock()
        let (outcome, change) = try await commit(key) { current throws(ShadowError) in
            let outcome = try engine.update(request, current: current, now: now)
            return ShadowModification(
                record: outcome.record, kind: .updated, desiredChanged: outcome.desiredChanged, result: outcome)
        }
        signal.advance(to: change.sequence)
        if publisher.isConnected {
            var events: [OutgoingMessage] = []
            if let delta = outcome.delta {
                events.append(
                    OutgoingMessage(topic: key.topicPrefix + "/update/delta", payload: JSONSerializer.bytes(delta)))
            }
            events.append(
                OutgoingMessage(
                    topic: key.topicPrefix + "/update/documents", payload: JSONSerializer.bytes(outcome.documents)))
            await publisher.publish(events)
        }
        return outcome.accepted
    }

    /// The shadow `key`, with its delta.
    package func get(_ key: ShadowKey, body: [UInt8] = []) async throws(ShadowError) -> Value {
        try key.validate(engine.limits)
        let request = engine.parseControl(body)
        let record: ShadowRecord?
        do {
            record = try await storage.record(for: key)
        } catch {
            throw internalFailure(error, key: key)
        }
        return try engine.get(request, key: key, current: record, now: clock())
    }

    /// Deletes the shadow `key`; its version is remembered for a re-creation.
    package func delete(_ key: ShadowKey, body: [UInt8] = []) async throws(ShadowError) -> Value {
        try key.validate(engine.limits)
        let request = engine.parseControl(body)
        let engine = self.engine
        let now = clock()
        let (outcome, change) = try await commit(key) { current throws(ShadowError) in
            let outcome = try engine.delete(request, key: key, current: current, now: now)
            return ShadowModification(record: outcome.record, kind: .deleted, desiredChanged: true, result: outcome)
        }
        signal.advance(to: change.sequence)
        return outcome.accepted
    }

    /// One page of `thing`'s named shadows: `{"results": [...], "nextToken": "...", "timestamp": t}`,
    /// `nextToken` present only when more names follow.
    ///
    /// - Parameters:
    ///   - pageSize: 1 up to the limit (AWS: 100); default 25.
    ///   - nextToken: The token from the previous page.
    package func listNamedShadows(thing: String, pageSize: Int?, nextToken: String?) async throws(ShadowError)
        -> Value
    {
        try ShadowKey(thing: thing).validate(engine.limits)
        let size = pageSize ?? 25
        guard (1...engine.limits.maxPageSize).contains(size) else {
            throw ShadowError(.badRequest, "pageSize must be between 1 and \(engine.limits.maxPageSize)")
        }
        var after: String?
        if let nextToken {
            guard let decoded = PageToken.decode(nextToken) else { throw ShadowError(.badRequest, "Invalid nextToken") }
            after = decoded
        }
        let names: [String]
        do {
            names = try await storage.namedShadows(of: thing, after: after, limit: size + 1)
        } catch {
            throw internalFailure(error, key: ShadowKey(thing: thing))
        }
        var reply = JSONObject()
        reply.appendUnique(key: "results", value: .array(names.prefix(size).map { .string($0) }))
        if names.count > size, let last = names.prefix(size).last {
            reply.appendUnique(key: "nextToken", value: .string(PageToken.encode(last)))
        }
        reply.appendUnique(key: "timestamp", value: .int(clock()))
        return .object(reply)
    }

    private func commit<Result: Sendable>(
        _ key: ShadowKey,
        _ transform: @escaping @Sendable (ShadowRecord?) throws(ShadowError) -> ShadowModification<Result>
    ) async throws(ShadowError) -> (Result, ShadowChange) {
        do {
            return try await storage.modify(key, transform)
        } catch let error as ShadowError {
            throw error
        } catch {
            throw internalFailure(error, key: key)
        }
    }

    func internalFailure(_ error: any Error, key: ShadowKey) -> ShadowError {
        logger.error(
            "shadow storage failed", metadata: ["device.id": "\(key.thing)", "error": "\(String(describing: error))"])
        return ShadowError(.internalError, "Internal service failure")
    }
}
