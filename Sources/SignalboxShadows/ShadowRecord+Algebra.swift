import SignalboxCore
import SignalboxJSON

extension ShadowRecord {
    /// The computed `state.delta`: every desired field whose value differs from reported; `nil` when
    /// nothing differs.
    package var delta: JSONObject? {
        guard let desired else { return nil }
        let delta = ShadowAlgebra.delta(desired: desired, reported: reported)
        return delta.isEmpty ? nil : delta
    }

    /// Bytes of compact JSON of `desired` plus `reported`, the figure the state size limit applies to.
    package var stateSize: Int {
        var size = 0
        if let desired { size += ShadowAlgebra.compactSize(.object(desired)) }
        if let reported { size += ShadowAlgebra.compactSize(.object(reported)) }
        return size
    }
}
