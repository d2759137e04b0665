import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxShadows
import SignalboxTesting
import Synchronization
import Testing

@testable import SignalboxServer

/// A ``MessageIngest`` that records every call and assigns increasing ids, or refuses with `refusal`.
final class RecordingIngest: MessageIngest {
    private let state = Mutex<(calls: [[IncomingMessage]], nextID: Int64, refusal: IngestRefusal?)>(([], 1, nil))

    init(refusal: IngestRefusal? = nil) {
        state.withLock { $0.refusal = refusal }
    }

    func ingest(_ messages: [IncomingMessage]) async throws(IngestRefusal) -> [Int64] {
        let result: Result<[Int64], IngestRefusal> = state.withLock { state in
            if let refusal = state.refusal { return .failure(refusal) }
            state.calls.append(messages)
            let first = state.nextID
            state.nextID += Int64(messages.count)
            return .success((0..<Int64(messages.count)).map { first + $0 })
        }
        return try result.get()
    }

    /// Every accepted call, in order.
    var calls: [[IncomingMessage]] { state.withLock { $0.calls } }
    /// Every accepted message, in order.
    var messages: [IncomingMessage] { calls.flatMap { $0 } }
    /// Makes later calls fail (or succeed again, with nil).
    func refuse(_ refusal: IngestRefusal?) { state.withLock { $0.refusal = refusal } }

    private let full = Atomic<Bool>(false)

    /// What ``isFull`` answers (false until set).
    func setFull(_ value: Bool) { full.store(value, ordering: .relaxed) }

    var isFull: Bool { full.load(ordering: .relaxed) }
}

/// An in-memory ``DeadLetterStorage``.
final class MemoryDeadLetters: DeadLetterStorage {
    private let letters = Mutex<[Int64: DeadLetter]>([:])
    private let nextID = Mutex<Int64>(1)

    func add(_ letter: DeadLetter) async throws -> Int64 {
        let id = nextID.withLock { id in
            defer { id += 1 }
            return id
        }
        var stored = letter
        stored.id = id
        letters.withLock { $0[id] = stored }
        return id
    }

    func list(after: Int64, limit: Int) async throws -> [DeadLetter] {
        letters.withLock { letters in
            Array(letters.values.filter { $0.id > after }.sorted { $0.id < $1.id }.prefix(limit))
        }
    }

    func get(_ id: Int64) async throws -> DeadLetter? { letters.withLock { $0[id] } }

    func remove(_ id: Int64) async throws -> Bool { letters.withLock { $0.removeValue(forKey: id) != nil } }

    func count() async throws -> Int { letters.withLock { $0.count } }
}

/// A ``RulesControl`` over a fixed rule set: configurable reload outcome and retry outcomes, and a
/// record of the retries asked for.
final class TestRulesControl: RulesControl {
    let ruleSet: RuleSet
    let deadLetters: any DeadLetterStorage
    private let state = Mutex<(reload: ReloadOutcome, retries: [Int64: DeadLetterRetryOutcome], asked: [Int64])>(
        (.loaded(version: 2), [:], []))

    init(ruleSet: RuleSet, deadLetters: any DeadLetterStorage = MemoryDeadLetters()) {
        self.ruleSet = ruleSet
        self.deadLetters = deadLetters
    }

    func rulesStatus() -> RulesStatus {
        RulesStatus(
            version: 3, loadedAt: 1_700_000_000_000, path: "rules.yaml", digest: "ab12",
            rules: ruleSet.rules.map { rule in
                RuleStatus(
                    name: rule.name, enabled: rule.isEnabled, topicFilter: rule.topicFilter.text, evaluated: 10,
                    matched: 4, errors: 1,
                    actions: rule.actions.map {
                        ActionStatus(
                            function: $0.function, index: $0.index, invocations: 4, succeeded: 3, failures: 1,
                            retries: 2, throttled: 0, deadLettered: 1, pending: 0)
                    })
            },
            lastFailure: state.withLock { state in
                if case .failed(let failure) = state.reload { return failure }
                return nil
            },
            reloads: (succeeded: 2, failed: 1), inFlight: (count: 5, capacity: 10_000), lanes: 4)
    }

    func reload() async -> ReloadOutcome { state.withLock { $0.reload } }

    func activeRuleSet() -> RuleSet { ruleSet }

    func retryDeadLetter(_ id: Int64) async -> DeadLetterRetryOutcome {
        let outcome = state.withLock { state in
            state.asked.append(id)
            return state.retries[id]
        }
        if let outcome {
            if outcome == .delivered { _ = try? await deadLetters.remove(id) }
            return outcome
        }
        return (try? await deadLetters.get(id)) == nil ? .notFound : .ruleGone
    }

    func throttleWindows(rule: String?) -> [ThrottleWindow] {
        windows.withLock { $0.filter { rule == nil || $0.rule == rule } }
    }

    func resetThrottles(rule: String?, key: String?) async throws -> Int {
        windows.withLock { windows in
            let before = windows.count
            windows.removeAll { (rule == nil || $0.rule == rule) && (key == nil || $0.key == key) }
            return before - windows.count
        }
    }

    /// The throttle windows listed and reset.
    let windows = Mutex<[ThrottleWindow]>([])

    /// What `reload()` answers from now on.
    func setReload(_ outcome: ReloadOutcome) { state.withLock { $0.reload = outcome } }
    /// What retrying `id` answers.
    func setRetry(_ id: Int64, _ outcome: DeadLetterRetryOutcome) { state.withLock { $0.retries[id] = outcome } }
    /// The ids retried, in order.
    var retried: [Int64] { state.withLock { $0.asked } }
}

/// A Signalbox server with runtime doubles, on an ephemeral loopback port; see ``TestServer``.
enum RuntimeTestServer {
    /// Runs `body` against a fresh server with `ingest`, `rules` and `records`, and a fresh metrics
    /// registry.
    static func run<T: Sendable>(
        ingest: (any MessageIngest)? = nil, rules: (any RulesControl)? = nil, records: (any RecordStorage)? = nil,
        metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        configure: (inout ServerConfiguration) -> Void = { _ in },
        prepare: @Sendable (InMemoryIdentityRegistry, TokenVault) async throws -> Void = { _, _ in },
        _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        var configuration = ServerConfiguration(port: 0)
        configure(&configuration)
        var logger = Logger(label: "signalbox.test")
        logger.logLevel = .warning
        let registry = InMemoryIdentityRegistry()
        let vault = try TokenVault(keyBytes: TestServer.key)
        let admin = try vault.issue(role: .admin, gateway: nil, createdAt: 1)
        try await registry.addToken(admin.record)
        try await prepare(registry, vault)
        let shadows = ShadowService(storage: InMemoryShadowStorage(), limits: configuration.limits, logger: logger)
        let server = SignalboxServer(
            configuration: configuration, shadows: shadows, registry: registry, vault: vault, ingest: ingest,
            rules: rules, records: records, metrics: metrics, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = try await server.makeApplication { port in continuation.yield(port) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("the server never came up") }
            let harness = TestServer(
                port: port, registry: registry, vault: vault, admin: admin,
                shutDown: { await group.triggerGracefulShutdown() })
            do {
                let value = try await body(harness)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return value
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }
}

extension TestServer {
    /// Adds gateway `name` with a token; returns the bearer token.
    func addGateway(_ name: String, things: [String] = []) async throws -> String {
        try await registry.addGateway(Gateway(name: name, createdAt: 0))
        for thing in things { try await registry.bind(thing: thing, to: name) }
        let issued = try vault.issue(role: .gateway, gateway: name, createdAt: 0)
        try await registry.addToken(issued.record)
        return issued.token
    }
}

/// Bytes of a string, for payload comparisons.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
