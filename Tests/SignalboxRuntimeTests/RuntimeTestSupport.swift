import Logging
import SignalboxCore
import SignalboxJSON
import SignalboxRuntime
import SignalboxSQL
import SignalboxShadows
import SignalboxTesting
import Synchronization

/// What the test handlers saw, by the `probe` key of their configuration.
final class Probe: Sendable {
    private struct State {
        var seen: [Invocation] = []
        var failuresLeft = 0
        var delay: Duration = .zero
        var failPermanently = false
    }

    private let state = Mutex(State())
    private static let all = Mutex<[String: Probe]>([:])

    static func named(_ name: String) -> Probe {
        all.withLock { all in
            if let probe = all[name] { return probe }
            let probe = Probe()
            all[name] = probe
            return probe
        }
    }

    var seen: [Invocation] { state.withLock { $0.seen } }

    /// The next `count` invocations fail (retryable).
    func failNext(_ count: Int) { state.withLock { $0.failuresLeft = count } }
    func failPermanently(_ on: Bool) { state.withLock { $0.failPermanently = on } }
    func delay(_ duration: Duration) { state.withLock { $0.delay = duration } }

    func handle(_ invocation: Invocation) async throws {
        let (delay, fail, permanent) = state.withLock { state -> (Duration, Bool, Bool) in
            let fail = state.failuresLeft > 0
            if fail { state.failuresLeft -= 1 }
            return (state.delay, fail, state.failPermanently)
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        if permanent { throw PermanentHandlerError("refused for good") }
        if fail { throw ProbeFailure() }
        state.withLock { $0.seen.append(invocation) }
    }
}

struct ProbeFailure: Error, CustomStringConvertible {
    var description: String { "the probe failed on purpose" }
}

/// `probe`: hands every invocation to the ``Probe`` named by `with: { probe: NAME }`.
struct ProbeHandler: HandlerFunction {
    static let name = "probe"
    let probe: Probe
    let concurrency: Int

    init(config: HandlerConfig, services: HandlerServices) throws(HandlerConfigError) {
        try config.allowKeys(["probe", "concurrency", "note"])
        guard let name = try config.constantString("probe") else { throw config.error(at: nil, "'probe' is required") }
        probe = Probe.named(name)
        concurrency = Int(try config.int("concurrency", in: 1...64) ?? 4)
    }

    func invoke(_ invocation: Invocation) async throws { try await probe.handle(invocation) }
}

/// Rules defined in code, swappable while a runtime runs.
final class CodeRulesSource: RulesSource {
    private let document: Mutex<RulesDocument>
    private let broken = Mutex(false)

    init(_ document: RulesDocument) { self.document = Mutex(document) }

    func replace(_ document: RulesDocument) { self.document.withLock { $0 = document } }
    func setBroken(_ value: Bool) { broken.withLock { $0 = value } }

    func load() throws(RulesError) -> LoadedRuleSet {
        var document = self.document.withLock { $0 }
        if broken.withLock({ $0 }) {
            document.rules.append(RuleDefinition(name: "broken", sql: "SELECT FROM", actions: []))
        }
        let ruleSet = try RuleSet(document, fileName: "rules.yaml")
        return LoadedRuleSet(ruleSet: ruleSet, devices: document.devices, digest: "test", path: "rules.yaml")
    }
}

func rule(
    _ name: String, _ sql: String, probe: String, retry: RetryPolicy = RetryPolicy(attempts: 1),
    timeout: Duration = .seconds(120), throttle: ThrottlePolicy? = nil, errorProbe: String? = nil,
    concurrency: Int64 = 4
) -> RuleDefinition {
    RuleDefinition(
        name: LocatedString(name), sql: LocatedString(sql),
        actions: [
            ActionDefinition(
                function: "probe",
                with: ["probe": .init(stringLiteral: probe), "concurrency": .init(integerLiteral: concurrency)],
                retry: retry, timeout: timeout, throttle: throttle)
        ],
        errorAction: errorProbe.map {
            ActionDefinition(
                function: "probe", with: ["probe": .init(stringLiteral: $0)], retry: RetryPolicy(attempts: 1))
        })
}

/// A runtime over in-memory storage with the probe handler.
struct RuntimeFixture {
    let source: CodeRulesSource
    let storage: RuntimeStorage
    let journal: InMemoryJournal
    let deadLetters: InMemoryDeadLetterStorage
    let throttles: InMemoryThrottleStorage
    let devices: InMemoryDeviceActivityStorage
    let clock = ManualClock()

    init(_ document: RulesDocument, versions: InMemoryRuleSetVersions = InMemoryRuleSetVersions()) {
        source = CodeRulesSource(document)
        journal = InMemoryJournal()
        deadLetters = InMemoryDeadLetterStorage()
        throttles = InMemoryThrottleStorage()
        devices = InMemoryDeviceActivityStorage()
        storage = RuntimeStorage(
            journal: journal, deadLetters: deadLetters, throttles: throttles, records: InMemoryRecordStorage(),
            devices: devices, ruleSetVersions: versions)
    }

    func start(configuration: RuntimeConfiguration = RuntimeConfiguration(lanes: 4)) async throws -> RulesRuntime {
        let clock = self.clock
        let bus = MessageBus()
        let services = HandlerServices(
            shadows: ShadowService(storage: InMemoryShadowStorage()), records: storage.records,
            http: RecordingHTTPClient(), publisher: bus, now: { clock.milliseconds }, logger: Logger(label: "test"))
        return try await RulesRuntime.start(
            configuration: configuration, source: source, registry: HandlerRegistry([ProbeHandler.self]),
            storage: storage, services: services, bus: bus, now: { clock.milliseconds }, logger: Logger(label: "test"))
    }

    func message(_ topic: String, _ json: String) -> IncomingMessage {
        IncomingMessage(topic: topic, payload: Array(json.utf8), receivedAt: clock.milliseconds)
    }
}

/// Waits until `condition` holds, polling; false after `timeout`. Generous: the whole suite shares
/// two cores, and CPU-bound tests can hold both for many seconds.
func eventually(timeout: Duration = .seconds(120), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}
