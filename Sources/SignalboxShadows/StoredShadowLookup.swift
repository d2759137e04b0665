import SignalboxCore
import SignalboxJSON
import SignalboxSQL

/// Lets `get_shadow()` in rules read the shadow store: the document a GET would return (state with
/// `desired`, `reported` and `delta`, `metadata`, `version`), with `timestamp` the time of the last
/// change.
package struct StoredShadowLookup: ShadowLookup {
    /// The store read.
    package let storage: any ShadowStorage
    private let engine = ShadowEngine()

    /// Creates a lookup over `storage`.
    package init(storage: any ShadowStorage) {
        self.storage = storage
    }

    package func shadowDocument(thing: String, shadowName: String?) throws -> Value? {
        let key = ShadowKey(thing: thing, name: shadowName)
        guard (try? key.validate(engine.limits)) != nil, let record = try storage.recordNow(for: key)?.live else {
            return nil
        }
        return try? engine.get(ShadowControlRequest(), key: key, current: record, now: record.timestamp)
    }
}
