import SignalboxCore
import Synchronization

/// A ``RuleSetVersionStore`` in memory, for tests: numbers
/// increase for as long as the store lives.
package final class InMemoryRuleSetVersions: RuleSetVersionStore {
    private let versions = Mutex<[RuleSetVersion]>([])

    /// An empty store.
    package init() {}

    package func latest() async throws -> RuleSetVersion? {
        versions.withLock { $0.last }
    }

    package func add(_ version: RuleSetVersion) async throws {
        try versions.withLock { versions throws(RuleSetVersionConflict) in
            if let last = versions.last, last.version >= version.version {
                throw RuleSetVersionConflict(version: version.version)
            }
            versions.append(version)
        }
    }

    package func recent(limit: Int) async throws -> [RuleSetVersion] {
        versions.withLock { Array($0.suffix(max(0, limit)).reversed()) }
    }
}
