import SignalboxCore
import SignalboxJSON
import SignalboxShadows
import Testing

/// The document algebra: merge with `null` deletion, equality, delta, metadata.
struct ShadowAlgebraTests {
    // MARK: - Merge

    struct MergeCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// Update request bodies applied in order to a new shadow.
        var updates: [String]
        /// The resulting `state` object (`desired`, `reported`), compact.
        var state: String
        var source: String
        var testDescription: String { name }
    }

    static let mergeCases: [MergeCase] = [
        MergeCase(
            name: "updates affect only the fields specified (deep merge)",
            updates: [
                #"{"state":{"desired":{"a":{"b":1},"x":"keep"}}}"#,
                #"{"state":{"desired":{"a":{"c":2}}}}"#,
            ],
            state: #"{"desired":{"a":{"b":1,"c":2},"x":"keep"}}"#, source: Guide.document),
        MergeCase(
            name: "a leaf is replaced, siblings stay, key order kept",
            updates: [#"{"state":{"desired":{"a":1,"b":2}}}"#, #"{"state":{"desired":{"b":3,"c":4}}}"#],
            state: #"{"desired":{"a":1,"b":3,"c":4}}"#, source: Guide.document),
        MergeCase(
            name: "desired and reported merge independently",
            updates: [
                #"{"state":{"desired":{"color":"red"},"reported":{"color":"blue"}}}"#,
                #"{"state":{"reported":{"on":true}}}"#,
            ],
            state: #"{"desired":{"color":"red"},"reported":{"color":"blue","on":true}}"#, source: Guide.dataFlow),
        MergeCase(
            name: "null deletes a top-level field",
            updates: [#"{"state":{"desired":{"a":1,"b":2}}}"#, #"{"state":{"desired":{"a":null}}}"#],
            state: #"{"desired":{"b":2}}"#, source: Guide.rest),
        MergeCase(
            name: "null deletes a field three levels down",
            updates: [
                #"{"state":{"reported":{"a":{"b":{"c":1,"d":2}}}}}"#,
                #"{"state":{"reported":{"a":{"b":{"c":null}}}}}"#,
            ],
            state: #"{"reported":{"a":{"b":{"d":2}}}}"#, source: Guide.dataFlow),
        MergeCase(
            name: "null deletes a whole nested object",
            updates: [#"{"state":{"desired":{"a":{"b":1},"k":0}}}"#, #"{"state":{"desired":{"a":null}}}"#],
            state: #"{"desired":{"k":0}}"#, source: Guide.rest),
        MergeCase(
            name: "null for a field that does not exist changes nothing",
            updates: [#"{"state":{"desired":{"a":1}}}"#, #"{"state":{"desired":{"zz":null}}}"#],
            state: #"{"desired":{"a":1}}"#, source: Guide.rest),
        MergeCase(
            name: "an object of nulls for a missing field creates nothing",
            updates: [#"{"state":{"desired":{"k":1}}}"#, #"{"state":{"desired":{"a":{"b":null,"c":{"d":null}}}}}"#],
            state: #"{"desired":{"k":1}}"#, source: Guide.signalbox),
        MergeCase(
            name: "nulls inside a new object are dropped, values kept",
            updates: [#"{"state":{"desired":{"a":{"b":null,"c":1}}}}"#],
            state: #"{"desired":{"a":{"c":1}}}"#, source: Guide.rest),
        MergeCase(
            name: "desired: null removes the desired section, reported stays",
            updates: [
                #"{"state":{"desired":{"color":"red"},"reported":{"color":"red"}}}"#,
                #"{"state":{"reported":{"color":"green"},"desired":null}}"#,
            ],
            state: #"{"reported":{"color":"green"}}"#, source: Guide.document),
        MergeCase(
            name: "reported: null removes the reported section",
            updates: [
                #"{"state":{"desired":{"a":1},"reported":{"a":2}}}"#, #"{"state":{"reported":null}}"#,
            ],
            state: #"{"desired":{"a":1}}"#, source: Guide.document),
        MergeCase(
            name: "state: null clears both sections",
            updates: [#"{"state":{"desired":{"a":1},"reported":{"a":2}}}"#, #"{"state":null}"#],
            state: #"{}"#, source: Guide.dataFlow),
        MergeCase(
            name: "a section can be re-created after state: null",
            updates: [#"{"state":{"desired":{"a":1}}}"#, #"{"state":null}"#, #"{"state":{"reported":{"b":2}}}"#],
            state: #"{"reported":{"b":2}}"#, source: Guide.dataFlow),
        MergeCase(
            name: "arrays are replaced whole, never merged",
            updates: [#"{"state":{"desired":{"rgb":[1,2,3]}}}"#, #"{"state":{"desired":{"rgb":[4]}}}"#],
            state: #"{"desired":{"rgb":[4]}}"#, source: Guide.document),
        MergeCase(
            name: "an array of objects is replaced whole",
            updates: [
                #"{"state":{"desired":{"l":[{"a":1,"b":2}]}}}"#, #"{"state":{"desired":{"l":[{"a":3}]}}}"#,
            ],
            state: #"{"desired":{"l":[{"a":3}]}}"#, source: Guide.document),
        MergeCase(
            name: "an object replaces a scalar",
            updates: [#"{"state":{"desired":{"a":5}}}"#, #"{"state":{"desired":{"a":{"b":1}}}}"#],
            state: #"{"desired":{"a":{"b":1}}}"#, source: Guide.document),
        MergeCase(
            name: "a scalar replaces an object",
            updates: [#"{"state":{"desired":{"a":{"b":1}}}}"#, #"{"state":{"desired":{"a":"flat"}}}"#],
            state: #"{"desired":{"a":"flat"}}"#, source: Guide.document),
        MergeCase(
            name: "an array replaces an object",
            updates: [#"{"state":{"desired":{"a":{"b":1}}}}"#, #"{"state":{"desired":{"a":[true,false]}}}"#],
            state: #"{"desired":{"a":[true,false]}}"#, source: Guide.document),
        MergeCase(
            name: "an object emptied by deletions is pruned",
            updates: [#"{"state":{"desired":{"a":{"b":1},"c":1}}}"#, #"{"state":{"desired":{"a":{"b":null}}}}"#],
            state: #"{"desired":{"c":1}}"#, source: Guide.signalbox),
        MergeCase(
            name: "pruning climbs through every emptied level",
            updates: [
                #"{"state":{"desired":{"a":{"b":{"c":1}},"k":1}}}"#,
                #"{"state":{"desired":{"a":{"b":{"c":null}}}}}"#,
            ],
            state: #"{"desired":{"k":1}}"#, source: Guide.signalbox),
        MergeCase(
            name: "a section emptied by deletions is removed like desired: null",
            updates: [
                #"{"state":{"desired":{"a":1},"reported":{"x":1}}}"#, #"{"state":{"desired":{"a":null}}}"#,
            ],
            state: #"{"reported":{"x":1}}"#, source: Guide.document),
        MergeCase(
            name: "an explicitly written empty object is kept",
            updates: [#"{"state":{"desired":{"a":{}}}}"#],
            state: #"{"desired":{"a":{}}}"#, source: Guide.signalbox),
        MergeCase(
            name: "an explicitly written empty section is kept",
            updates: [#"{"state":{"reported":{}}}"#],
            state: #"{"reported":{}}"#, source: Guide.document),
        MergeCase(
            name: "an empty update changes no field",
            updates: [#"{"state":{"desired":{"a":1}}}"#, #"{"state":{}}"#, #"{"state":{"desired":{}}}"#],
            state: #"{"desired":{"a":1}}"#, source: Guide.document),
        MergeCase(
            name: "strings, numbers, booleans and unicode round-trip",
            updates: [#"{"state":{"reported":{"s":"h\u00e9llo \"q\"","i":-7,"d":2.5,"b":false,"e":"✓"}}}"#],
            state: #"{"reported":{"s":"héllo \"q\"","i":-7,"d":2.5,"b":false,"e":"✓"}}"#, source: Guide.document),
    ]

    @Test(arguments: mergeCases)
    func merge(_ row: MergeCase) throws {
        let steps = row.updates.enumerated().map { (Int64(100 + $0.offset), $0.element) }
        let record = try #require(try ShadowEngine().applying(steps))
        #expect(text(.object(record.state)) == row.state, "\(row.source)")
        // Metadata always mirrors the state's shape.
        #expect(Self.shape(.object(record.metadata)) == Self.shape(.object(record.state)), "\(row.source)")
    }

    /// The key structure of a state (leaves and arrays collapsed), or of metadata (timestamps collapsed).
    static func shape(_ value: Value) -> String {
        switch value {
        case .object(let object):
            if object.count == 1, case .int? = object["timestamp"] { return "." }
            return "{" + object.members.map { "\($0.key):\(shape($0.value))" }.joined(separator: ",") + "}"
        case .array(let elements): return "[" + elements.map(shape).joined(separator: ",") + "]"
        default: return "."
        }
    }

    // MARK: - Equality

    struct EqualityCase: Sendable, CustomTestStringConvertible {
        var lhs: String
        var rhs: String
        var equal: Bool
        var source: String
        var testDescription: String { "\(lhs) vs \(rhs)" }
    }

    static let equalityCases: [EqualityCase] = [
        EqualityCase(lhs: "true", rhs: "1", equal: false, source: Guide.document),
        EqualityCase(lhs: "false", rhs: "0", equal: false, source: Guide.document),
        EqualityCase(lhs: #""1""#, rhs: "1", equal: false, source: Guide.document),
        EqualityCase(lhs: #""true""#, rhs: "true", equal: false, source: Guide.document),
        EqualityCase(lhs: "null", rhs: #""""#, equal: false, source: Guide.document),
        EqualityCase(lhs: "null", rhs: "null", equal: true, source: Guide.document),
        // Documented choice: JSON numbers carry no int/float type, so 1 and 1.0 are the same number.
        EqualityCase(lhs: "1", rhs: "1.0", equal: true, source: Guide.signalbox),
        EqualityCase(lhs: "100", rhs: "1e2", equal: true, source: Guide.signalbox),
        EqualityCase(lhs: "1", rhs: "1.5", equal: false, source: Guide.signalbox),
        EqualityCase(lhs: "2.5", rhs: "2.50", equal: true, source: Guide.signalbox),
        EqualityCase(lhs: #""red""#, rhs: #""red""#, equal: true, source: Guide.document),
        EqualityCase(lhs: #""red""#, rhs: #""Red""#, equal: false, source: Guide.document),
        EqualityCase(lhs: "[1,2]", rhs: "[1,2]", equal: true, source: Guide.document),
        EqualityCase(lhs: "[1,2]", rhs: "[2,1]", equal: false, source: Guide.document),
        EqualityCase(lhs: "[1,2]", rhs: "[1,2,3]", equal: false, source: Guide.document),
        EqualityCase(lhs: "[1]", rhs: "1", equal: false, source: Guide.document),
        EqualityCase(lhs: "[true]", rhs: "[1]", equal: false, source: Guide.document),
        EqualityCase(lhs: #"{"a":1,"b":2}"#, rhs: #"{"b":2,"a":1}"#, equal: true, source: Guide.document),
        EqualityCase(lhs: #"{"a":1}"#, rhs: #"{"a":1,"b":2}"#, equal: false, source: Guide.document),
        EqualityCase(lhs: #"{"a":{"b":[1.0]}}"#, rhs: #"{"a":{"b":[1]}}"#, equal: true, source: Guide.signalbox),
        EqualityCase(lhs: #"{"a":{"b":"1"}}"#, rhs: #"{"a":{"b":1}}"#, equal: false, source: Guide.document),
        EqualityCase(lhs: "{}", rhs: "[]", equal: false, source: Guide.document),
    ]

    @Test(arguments: equalityCases)
    func equality(_ row: EqualityCase) {
        let lhs = json(row.lhs)
        let rhs = json(row.rhs)
        #expect(ShadowAlgebra.equal(lhs, rhs) == row.equal, "\(row.source)")
        #expect(ShadowAlgebra.equal(rhs, lhs) == row.equal, "symmetric: \(row.source)")
    }

    // MARK: - Delta

    struct DeltaCase: Sendable, CustomTestStringConvertible {
        var name: String
        var desired: String?
        var reported: String?
        /// The delta, or `nil` when there is none.
        var delta: String?
        var source: String
        var testDescription: String { name }
    }

    static let deltaCases: [DeltaCase] = [
        DeltaCase(
            name: "nested difference: path to the root, only the differing leaf",
            desired: #"{"lights":{"color":{"r":255,"g":255,"b":255}}}"#,
            reported: #"{"lights":{"color":{"r":255,"g":0,"b":255}}}"#,
            delta: #"{"lights":{"color":{"g":255}}}"#, source: Guide.document),
        DeltaCase(
            name: "desired field missing from reported is included",
            desired: #"{"color":"red","on":true}"#, reported: #"{"on":true}"#,
            delta: #"{"color":"red"}"#, source: Guide.mqtt),
        DeltaCase(
            name: "reported-only field is not included",
            desired: #"{"on":true}"#, reported: #"{"on":true,"temp":21}"#, delta: nil, source: Guide.mqtt),
        DeltaCase(
            name: "no reported section: all of desired",
            desired: #"{"a":1,"b":{"c":2}}"#, reported: nil, delta: #"{"a":1,"b":{"c":2}}"#, source: Guide.document),
        DeltaCase(
            name: "no desired section: no delta", desired: nil, reported: #"{"a":1}"#, delta: nil,
            source: Guide.document),
        DeltaCase(
            name: "equal sections: no delta",
            desired: #"{"a":1,"b":{"c":[1,2]}}"#, reported: #"{"b":{"c":[1,2]},"a":1}"#, delta: nil,
            source: Guide.document),
        DeltaCase(
            name: "differing array: the entire desired array",
            desired: #"{"rgb":[255,255,0]}"#, reported: #"{"rgb":[255,0,0]}"#, delta: #"{"rgb":[255,255,0]}"#,
            source: Guide.document),
        DeltaCase(
            name: "arrays of objects compare whole",
            desired: #"{"l":[{"a":1},{"b":2}]}"#, reported: #"{"l":[{"a":1},{"b":3}]}"#,
            delta: #"{"l":[{"a":1},{"b":2}]}"#, source: Guide.document),
        DeltaCase(
            name: "equal arrays: no delta",
            desired: #"{"rgb":[1,2,3]}"#, reported: #"{"rgb":[1,2,3]}"#, delta: nil, source: Guide.document),
        DeltaCase(
            name: "true differs from 1", desired: #"{"on":true}"#, reported: #"{"on":1}"#, delta: #"{"on":true}"#,
            source: Guide.document),
        DeltaCase(
            name: "\"1\" differs from 1", desired: #"{"v":"1"}"#, reported: #"{"v":1}"#, delta: #"{"v":"1"}"#,
            source: Guide.document),
        DeltaCase(
            name: "1 equals 1.0", desired: #"{"v":1}"#, reported: #"{"v":1.0}"#, delta: nil, source: Guide.signalbox),
        DeltaCase(
            name: "desired object vs reported scalar: the whole object",
            desired: #"{"a":{"b":1,"c":2}}"#, reported: #"{"a":7}"#, delta: #"{"a":{"b":1,"c":2}}"#,
            source: Guide.document),
        DeltaCase(
            name: "desired scalar vs reported object: the scalar",
            desired: #"{"a":7}"#, reported: #"{"a":{"b":1}}"#, delta: #"{"a":7}"#, source: Guide.document),
        DeltaCase(
            name: "only differing fields, in desired's order",
            desired: #"{"a":1,"b":2,"c":3,"d":{"e":4,"f":5}}"#, reported: #"{"d":{"f":5,"e":0},"c":3,"a":9}"#,
            delta: #"{"a":1,"b":2,"d":{"e":4}}"#, source: Guide.mqtt),
        DeltaCase(
            name: "empty desired: no delta", desired: "{}", reported: #"{"a":1}"#, delta: nil, source: Guide.document),
    ]

    @Test(arguments: deltaCases)
    func delta(_ row: DeltaCase) {
        let record = ShadowRecord(
            desired: row.desired.map(object), reported: row.reported.map(object), version: 1, timestamp: 0)
        #expect(record.delta.map { text(.object($0)) } == row.delta, "\(row.source)")
    }

    // MARK: - Metadata

    struct MetadataCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// (time, update body) applied in order.
        var updates: [Step]
        /// The resulting `metadata` object, compact.
        var metadata: String
        var source: String
        var testDescription: String { name }

        struct Step: Sendable {
            var at: Int64
            var body: String
        }
    }

    static let metadataCases: [MetadataCase] = [
        MetadataCase(
            name: "each leaf gets a timestamp, nesting mirrored",
            updates: [.init(at: 100, body: #"{"state":{"desired":{"a":1,"lights":{"color":"red"}}}}"#)],
            metadata: #"{"desired":{"a":{"timestamp":100},"lights":{"color":{"timestamp":100}}}}"#,
            source: Guide.document),
        MetadataCase(
            name: "only the leaves written are re-stamped",
            updates: [
                .init(at: 100, body: #"{"state":{"desired":{"a":1,"b":{"c":2,"d":3}}}}"#),
                .init(at: 200, body: #"{"state":{"desired":{"b":{"c":5}}}}"#),
            ],
            metadata: #"{"desired":{"a":{"timestamp":100},"b":{"c":{"timestamp":200},"d":{"timestamp":100}}}}"#,
            source: Guide.simulating),
        MetadataCase(
            name: "writing the same value again re-stamps it",
            updates: [
                .init(at: 100, body: #"{"state":{"reported":{"a":1,"b":2}}}"#),
                .init(at: 300, body: #"{"state":{"reported":{"a":1}}}"#),
            ],
            metadata: #"{"reported":{"a":{"timestamp":300},"b":{"timestamp":100}}}"#, source: Guide.diagnosing),
        MetadataCase(
            name: "sections keep separate timestamps",
            updates: [
                .init(at: 100, body: #"{"state":{"reported":{"ID":"SmartLamp21"}}}"#),
                .init(at: 200, body: #"{"state":{"desired":{"ID":"SmartLamp21"}}}"#),
            ],
            metadata: #"{"desired":{"ID":{"timestamp":200}},"reported":{"ID":{"timestamp":100}}}"#,
            source: Guide.simulating),
        MetadataCase(
            name: "arrays get one timestamp per element",
            updates: [.init(at: 1_591_141_596, body: #"{"state":{"desired":{"ColorRGB":[255,255,0]}}}"#)],
            metadata:
                #"{"desired":{"ColorRGB":[{"timestamp":1591141596},{"timestamp":1591141596},{"timestamp":1591141596}]}}"#,
            source: Guide.simulating),
        MetadataCase(
            name: "a replaced array is re-stamped whole at its new length",
            updates: [
                .init(at: 100, body: #"{"state":{"reported":{"l":[1,2,3]}}}"#),
                .init(at: 200, body: #"{"state":{"reported":{"l":[9]}}}"#),
            ],
            metadata: #"{"reported":{"l":[{"timestamp":200}]}}"#, source: Guide.simulating),
        MetadataCase(
            name: "objects inside arrays get per-leaf timestamps",
            updates: [.init(at: 100, body: #"{"state":{"reported":{"l":[{"a":1},[2]]}}}"#)],
            metadata: #"{"reported":{"l":[{"a":{"timestamp":100}},[{"timestamp":100}]]}}"#,
            source: Guide.signalbox),
        MetadataCase(
            name: "a deleted leaf loses its metadata",
            updates: [
                .init(at: 100, body: #"{"state":{"desired":{"a":1,"b":2}}}"#),
                .init(at: 200, body: #"{"state":{"desired":{"a":null}}}"#),
            ],
            metadata: #"{"desired":{"b":{"timestamp":100}}}"#, source: Guide.dataFlow),
        MetadataCase(
            name: "a deleted section loses its metadata",
            updates: [
                .init(at: 100, body: #"{"state":{"desired":{"a":1},"reported":{"a":1}}}"#),
                .init(at: 200, body: #"{"state":{"desired":null}}"#),
            ],
            metadata: #"{"reported":{"a":{"timestamp":100}}}"#, source: Guide.dataFlow),
        MetadataCase(
            name: "a pruned object loses its metadata",
            updates: [
                .init(at: 100, body: #"{"state":{"desired":{"a":{"b":1},"c":2}}}"#),
                .init(at: 200, body: #"{"state":{"desired":{"a":{"b":null}}}}"#),
            ],
            metadata: #"{"desired":{"c":{"timestamp":100}}}"#, source: Guide.signalbox),
        MetadataCase(
            name: "a scalar replacing an object is stamped as a leaf",
            updates: [
                .init(at: 100, body: #"{"state":{"desired":{"a":{"b":1,"c":2}}}}"#),
                .init(at: 200, body: #"{"state":{"desired":{"a":0}}}"#),
            ],
            metadata: #"{"desired":{"a":{"timestamp":200}}}"#, source: Guide.document),
        MetadataCase(
            name: "an object replacing a scalar is stamped per leaf",
            updates: [
                .init(at: 100, body: #"{"state":{"desired":{"a":0}}}"#),
                .init(at: 200, body: #"{"state":{"desired":{"a":{"b":1}}}}"#),
            ],
            metadata: #"{"desired":{"a":{"b":{"timestamp":200}}}}"#, source: Guide.document),
        MetadataCase(
            name: "state: null leaves empty metadata",
            updates: [
                .init(at: 100, body: #"{"state":{"desired":{"a":0},"reported":{"a":1}}}"#),
                .init(at: 200, body: #"{"state":null}"#),
            ],
            metadata: "{}", source: Guide.dataFlow),
    ]

    @Test(arguments: metadataCases)
    func metadata(_ row: MetadataCase) throws {
        let record = try #require(try ShadowEngine().applying(row.updates.map { ($0.at, $0.body) }))
        #expect(text(.object(record.metadata)) == row.metadata, "\(row.source)")
    }

    // MARK: - Delta metadata

    @Test(arguments: [
        // Delta metadata equals the desired metadata of the delta's fields, arrays per element.
        (
            #"{"a":{"b":1,"c":2},"rgb":[1,2],"same":1}"#, #"{"a":{"b":1,"c":0},"same":1}"#,
            #"{"a":{"c":{"timestamp":100}},"rgb":[{"timestamp":100},{"timestamp":100}]}"#, Guide.document
        ),
        (
            #"{"lights":{"color":{"r":255,"g":255}}}"#, #"{"lights":{"color":{"r":255,"g":0}}}"#,
            #"{"lights":{"color":{"g":{"timestamp":100}}}}"#, Guide.document
        ),
        (#"{"x":{"y":1}}"#, #"{"x":5}"#, #"{"x":{"y":{"timestamp":100}}}"#, Guide.document),
    ])
    func deltaMetadataEqualsDesiredMetadata(desired: String, reported: String, expected: String, source: String) throws
    {
        let record = try #require(
            try ShadowEngine().applying([
                (100, #"{"state":{"desired":"# + desired + "}}"),
                (100, #"{"state":{"reported":"# + reported + "}}"),
            ]))
        let delta = try #require(record.delta)
        let metadata = ShadowAlgebra.deltaMetadata(delta, desiredMetadata: record.desiredMetadata)
        #expect(text(.object(metadata)) == expected, "\(source)")
    }

    // MARK: - Depth and nulls in arrays

    @Test(arguments: [
        ("1", 0), ("{}", 1), ("[]", 1), (#"{"a":1}"#, 1), (#"{"a":{"b":1}}"#, 2), (#"{"a":[1,[2]]}"#, 3),
        (#"{"one":{"two":{"three":{"four":{"five":{}}}}}}"#, 6),
    ])
    func depthCountsObjectsAndArrays(document: String, depth: Int) {
        // https://docs.aws.amazon.com/general/latest/gr/iot-core.html#device-shadow-limits (levels of nesting)
        #expect(ShadowAlgebra.depth(json(document)) == depth)
    }

    @Test(arguments: [
        (#"{"a":[null,"RED","GREEN"]}"#, true), (#"{"a":{"b":[1,[null]]}}"#, true), (#"{"a":null}"#, false),
        (#"{"a":[1,2]}"#, false),
    ])
    func nullInsideArraysIsFound(document: String, found: Bool) {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html ("Arrays can't have null values")
        #expect(ShadowAlgebra.containsNullInArray(json(document)) == found)
    }
}
