import Synchronization

/// One version of the rules, as it was activated: the number dead letters, logs and metrics record,
/// the SHA-256 of the file it was loaded from, the file and when it was loaded.
package struct RuleSetVersion: Sendable, Hashable {
    /// Increasing across reloads and restarts of the same data directory; never reused.
    package var version: Int
    /// SHA-256 of the file's bytes, hex.
    package var digest: String
    /// The rules file, as its path was given.
    package var path: String
    /// When it was loaded (ms since the epoch).
    package var loadedAt: Int64

    /// Bundles a version.
    package init(version: Int, digest: String, path: String, loadedAt: Int64) {
        self.version = version
        self.digest = digest
        self.path = path
        self.loadedAt = loadedAt
    }
}

/// Where the rule-set versions are recorded, so that version numbers keep increasing across
/// restarts and each one names the file it was loaded from.
///
/// The runtime records a version when a rule set becomes active (at start and on each successful
/// reload), never for a file that was refused.
package protocol RuleSetVersionStore: Sendable {
    /// The highest version recorded; nil when none is.
    func latest() async throws -> RuleSetVersion?

    /// Records `version`, whose number must be higher than every recorded one.
    ///
    /// - Throws: When the number is already recorded (another process took it) or the store fails.
    func add(_ version: RuleSetVersion) async throws

    /// The most recent versions, newest first, at most `limit`.
    func recent(limit: Int) async throws -> [RuleSetVersion]
}

/// A rule-set version was recorded with a number not above the highest one recorded.
package struct RuleSetVersionConflict: Error, Sendable, Hashable, CustomStringConvertible {
    /// The number that was refused.
    package var version: Int

    /// The error for `version`.
    package init(version: Int) { self.version = version }

    package var description: String {
        "rule-set version \(version) is already recorded: is another Signalbox using the same data directory?"
    }
}
