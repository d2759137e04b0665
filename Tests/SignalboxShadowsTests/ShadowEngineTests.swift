import SignalboxCore
import SignalboxJSON
import SignalboxShadows
import Testing

/// Request validation, the exact bytes of every reply, and versions, at the engine level.
struct ShadowEngineTests {
    // MARK: - Validation

    struct RejectedCase: Sendable, CustomTestStringConvertible {
        var name: String
        var body: [UInt8]
        var code: Int
        var message: String
        var source: String
        var testDescription: String { name }

        init(_ name: String, _ body: String, _ code: Int, _ message: String, source: String) {
            self.init(name, Array(body.utf8), code, message, source: source)
        }

        init(_ name: String, _ body: [UInt8], _ code: Int, _ message: String, source: String) {
            self.name = name
            self.body = body
            self.code = code
            self.message = message
            self.source = source
        }
    }

    static let tooDeep = "JSON contains too many levels of nesting; maximum is 6"

    static let rejectedCases: [RejectedCase] = [
        RejectedCase("truncated JSON", #"{"state":{"desired":"#, 400, "Invalid JSON", source: Guide.errors),
        RejectedCase("empty body", "", 400, "Invalid JSON", source: Guide.errors),
        RejectedCase("trailing garbage", #"{"state":{}} x"#, 400, "Invalid JSON", source: Guide.errors),
        RejectedCase("top level is an array", #"[{"state":{}}]"#, 400, "Invalid JSON", source: Guide.errors),
        RejectedCase("top level is a string", #""state""#, 400, "Invalid JSON", source: Guide.errors),
        RejectedCase("top level is null", "null", 400, "Invalid JSON", source: Guide.errors),
        RejectedCase("no state", #"{"clientToken":"t"}"#, 400, "Missing required node: state", source: Guide.errors),
        RejectedCase("empty object", "{}", 400, "Missing required node: state", source: Guide.errors),
        RejectedCase("state is a number", #"{"state":1}"#, 400, "State node must be an object", source: Guide.errors),
        RejectedCase("state is an array", #"{"state":[]}"#, 400, "State node must be an object", source: Guide.errors),
        RejectedCase(
            "state is a string", #"{"state":"on"}"#, 400, "State node must be an object", source: Guide.errors),
        RejectedCase(
            "desired is a number", #"{"state":{"desired":5}}"#, 400, "Desired node must be an object",
            source: Guide.errors),
        RejectedCase(
            "desired is an array", #"{"state":{"desired":[1]}}"#, 400, "Desired node must be an object",
            source: Guide.errors),
        RejectedCase(
            "reported is a string", #"{"state":{"reported":"x"}}"#, 400, "Reported node must be an object",
            source: Guide.errors),
        RejectedCase(
            "reported is a boolean", #"{"state":{"reported":true}}"#, 400, "Reported node must be an object",
            source: Guide.errors),
        RejectedCase(
            "unknown object node in state", #"{"state":{"delta":{"a":1}}}"#, 400, "State contains an invalid node",
            source: Guide.errors),
        RejectedCase(
            "unknown scalar node in state", #"{"state":{"desired":{},"foo":1}}"#, 400,
            "State contains an invalid node", source: Guide.errors),
        RejectedCase(
            "unknown null node in state", #"{"state":{"metadata":null}}"#, 400, "State contains an invalid node",
            source: Guide.errors),
        RejectedCase(
            "version is a string", #"{"state":{},"version":"3"}"#, 400, "Invalid version", source: Guide.errors),
        RejectedCase(
            "version is negative", #"{"state":{},"version":-1}"#, 400, "Invalid version", source: Guide.errors),
        RejectedCase(
            "version has a fraction", #"{"state":{},"version":1.5}"#, 400, "Invalid version", source: Guide.errors),
        RejectedCase(
            "version is a float", #"{"state":{},"version":2.0}"#, 400, "Invalid version", source: Guide.errors),
        RejectedCase(
            "version is null", #"{"state":{},"version":null}"#, 400, "Invalid version", source: Guide.errors),
        RejectedCase(
            "version beyond Int64", #"{"state":{},"version":99999999999999999999}"#, 400, "Invalid version",
            source: Guide.errors),
        RejectedCase(
            "clientToken of 65 bytes", #"{"state":{},"clientToken":""# + String(repeating: "x", count: 65) + #""}"#,
            400, "Invalid clientToken", source: Guide.document),
        RejectedCase(
            "clientToken of 33 two-byte characters (66 bytes)",
            #"{"state":{},"clientToken":""# + String(repeating: "é", count: 33) + #""}"#, 400, "Invalid clientToken",
            source: Guide.document),
        RejectedCase(
            "clientToken is a number", #"{"state":{},"clientToken":42}"#, 400, "Invalid clientToken",
            source: Guide.errors),
        RejectedCase(
            "clientToken is empty", #"{"state":{},"clientToken":""}"#, 400, "Invalid clientToken",
            source: Guide.errors),
        RejectedCase(
            "clientToken is null", #"{"state":{},"clientToken":null}"#, 400, "Invalid clientToken",
            source: Guide.errors),
        RejectedCase(
            "desired one level deeper than the limit example",
            #"{"state":{"desired":{"one":{"two":{"three":{"four":{"five":{"six":{}}}}}}}}}"#, 400, tooDeep,
            source: Guide.limits),
        RejectedCase(
            "reported too deep", #"{"state":{"reported":{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}}"#, 400, tooDeep,
            source: Guide.errors),
        RejectedCase(
            "arrays count as levels", #"{"state":{"desired":{"a":[[[[[[1]]]]]]}}}"#, 400, tooDeep,
            source: Guide.errors),
        RejectedCase(
            "null inside an array", #"{"state":{"desired":{"colors":[null,"RED","GREEN"]}}}"#, 400,
            "Arrays can't contain null values", source: Guide.document),
        RejectedCase(
            "null inside a nested array", #"{"state":{"reported":{"a":{"b":[1,[2,null]]}}}}"#, 400,
            "Arrays can't contain null values", source: Guide.document),
        RejectedCase(
            "invalid UTF-8 in a value",
            Array(#"{"state":{"desired":{"a":""#.utf8) + [0xFF, 0xFE] + Array(#""}}}"#.utf8), 415,
            "Unsupported documented encoding; supported encoding is UTF-8", source: Guide.errors),
        RejectedCase(
            "overlong UTF-8 in a key", Array(#"{"state":{"desired":{""#.utf8) + [0xC0, 0x80] + Array(#"":1}}}"#.utf8),
            415, "Unsupported documented encoding; supported encoding is UTF-8", source: Guide.errors),
        RejectedCase(
            "truncated UTF-8 sequence",
            Array(#"{"state":{},"clientToken":""#.utf8) + [0xE2, 0x82] + Array(#""}"#.utf8),
            415, "Unsupported documented encoding; supported encoding is UTF-8", source: Guide.errors),
        RejectedCase(
            "body over the request limit",
            #"{"state":{"desired":{"a":""# + String(repeating: "x", count: 128 * 1024) + #""}}}"#, 413,
            "The payload exceeds the maximum size allowed", source: Guide.limits),
    ]

    @Test(arguments: rejectedCases)
    func invalidUpdatesAreRejected(_ row: RejectedCase) {
        let error = shadowErrorSync { () throws(ShadowError) in try ShadowEngine().parseUpdate(row.body) }
        #expect(error?.code.rawValue == row.code, "\(row.source)")
        #expect(error?.message == row.message, "\(row.source)")
    }

    struct AcceptedCase: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var writesDesired: Bool
        var clientToken: String?
        var version: Int64?
        var source: String
        var testDescription: String { name }
    }

    static let acceptedCases: [AcceptedCase] = [
        AcceptedCase(
            name: "the documented 6-level example",
            body: #"{"state":{"desired":{"one":{"two":{"three":{"four":{"five":{}}}}}}}}"#, writesDesired: true,
            source: Guide.limits),
        AcceptedCase(
            name: "6 levels of arrays", body: #"{"state":{"reported":{"a":[[[[[1]]]]]}}}"#, writesDesired: false,
            source: Guide.limits),
        AcceptedCase(
            name: "clientToken of exactly 64 bytes",
            body: #"{"state":{},"clientToken":""# + String(repeating: "t", count: 64) + #""}"#, writesDesired: false,
            clientToken: String(repeating: "t", count: 64), source: Guide.document),
        AcceptedCase(
            name: "version 0", body: #"{"state":{"desired":{"a":1}},"version":0}"#, writesDesired: true, version: 0,
            source: Guide.dataFlow),
        AcceptedCase(
            name: "unknown top-level members are ignored",
            body: #"{"timestamp":5,"state":{"desired":{"a":1}},"metadata":{"x":1},"foo":[null],"clientToken":"c"}"#,
            writesDesired: true, clientToken: "c", source: Guide.diagnosing),
        AcceptedCase(name: "empty state", body: #"{"state":{}}"#, writesDesired: false, source: Guide.document),
        AcceptedCase(
            name: "desired: null", body: #"{"state":{"desired":null}}"#, writesDesired: true, source: Guide.document),
        AcceptedCase(name: "state: null", body: #"{"state":null}"#, writesDesired: true, source: Guide.dataFlow),
        AcceptedCase(
            name: "both sections and a version",
            body: #"{"state":{"desired":{"a":1},"reported":{"a":2}},"version":12}"#,
            writesDesired: true, version: 12, source: Guide.document),
        AcceptedCase(
            name: "whitespace and unicode", body: "{ \"state\" : { \"reported\" : { \"nom\" : \"café ☕\" } } }\n",
            writesDesired: false, source: Guide.document),
    ]

    @Test(arguments: acceptedCases)
    func validUpdatesParse(_ row: AcceptedCase) throws {
        let request = try ShadowEngine().parseUpdate(body(row.body))
        #expect(request.writesDesired == row.writesDesired, "\(row.source)")
        #expect(request.clientToken == row.clientToken, "\(row.source)")
        #expect(request.version == row.version, "\(row.source)")
    }

    @Test func limitsAreConfigurable() {
        let engine = ShadowEngine(limits: ShadowLimits(maxDepth: 2, maxClientTokenBytes: 4, maxRequestBytes: 40))
        let deep = shadowErrorSync { () throws(ShadowError) in
            try engine.parseUpdate(body(#"{"state":{"desired":{"a":{"b":1}}}}"#))
        }
        #expect(deep == nil)
        let tooDeep = shadowErrorSync { () throws(ShadowError) in
            try engine.parseUpdate(body(#"{"state":{"desired":{"a":{"b":{}}}}}"#))
        }
        #expect(tooDeep?.message == "JSON contains too many levels of nesting; maximum is 2")
        let token = shadowErrorSync { () throws(ShadowError) in
            try engine.parseUpdate(body(#"{"state":{},"clientToken":"abcde"}"#))
        }
        #expect(token?.message == "Invalid clientToken")
        let large = shadowErrorSync { () throws(ShadowError) in
            try engine.parseUpdate(body(#"{"state":{"desired":{"a":"0123456789012345"}}}"#))
        }
        #expect(large?.code == .payloadTooLarge)
    }

    @Test(
        arguments: [
            // The clientToken of a get/delete body is echoed; anything else in it is ignored.
            (#"{"clientToken":"abc"}"#, "abc"), ("", nil), ("not json", nil), (#"{"clientToken":7}"#, nil),
            (#"{"clientToken":""}"#, nil), (#"{"clientToken":""# + String(repeating: "x", count: 65) + #""}"#, nil),
            (#"{"state":5,"clientToken":"z"}"#, "z"),
        ] as [(String, String?)])
    func controlBodiesYieldOnlyAValidClientToken(request: String, token: String?) {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-mqtt.html ("The content of the message is ignored")
        #expect(ShadowEngine().parseControl(body(request)).clientToken == token)
    }

    // MARK: - Exact reply bytes

    enum Reply: Sendable { case accepted, delta, documents }

    struct ReplyCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// Earlier updates: (time, body).
        var before: [Step] = []
        var at: Int64
        var request: String
        var reply: Reply
        var expected: String
        var source: String
        var testDescription: String { name }

        struct Step: Sendable {
            var at: Int64
            var body: String
        }
    }

    static let token = "21b21b21-bfd2-4279-8c65-e2f697ff4fab"
    static let lamp = #"{"state":{"reported":{"ID":"SmartLamp21","ColorRGB":[128,128,128]}}}"#

    static let replyCases: [ReplyCase] = [
        ReplyCase(
            name: "accepted: state, metadata, version, timestamp, clientToken",
            at: 1_591_141_596,
            request: #"{"state":{"desired":{"ColorRGB":[255,255,0]}},"clientToken":"\#(token)"}"#, reply: .accepted,
            expected:
                #"{"state":{"desired":{"ColorRGB":[255,255,0]}},"metadata":{"desired":{"ColorRGB":[{"timestamp":1591141596},{"timestamp":1591141596},{"timestamp":1591141596}]}},"version":1,"timestamp":1591141596,"clientToken":"\#(token)"}"#,
            source: Guide.simulating),
        ReplyCase(
            name: "accepted echoes only the request's state",
            before: [.init(at: 1_591_140_517, body: lamp)], at: 1_591_141_596,
            request: #"{"state":{"desired":{"ColorRGB":[255,255,0]}}}"#, reply: .accepted,
            expected:
                #"{"state":{"desired":{"ColorRGB":[255,255,0]}},"metadata":{"desired":{"ColorRGB":[{"timestamp":1591141596},{"timestamp":1591141596},{"timestamp":1591141596}]}},"version":2,"timestamp":1591141596}"#,
            source: Guide.document),
        ReplyCase(
            name: "accepted without clientToken has none",
            at: 1_469_564_492, request: #"{"state":{"reported":{"color":"red"}}}"#, reply: .accepted,
            expected:
                #"{"state":{"reported":{"color":"red"}},"metadata":{"reported":{"color":{"timestamp":1469564492}}},"version":1,"timestamp":1469564492}"#,
            source: Guide.dataFlow),
        ReplyCase(
            name: "accepted echoes a null section with a bare timestamp, in request order",
            before: [
                .init(at: 1_469_564_492, body: #"{"state":{"reported":{"color":"red"}}}"#),
                .init(at: 1_469_564_658, body: #"{"state":{"desired":{"color":"green"}}}"#),
            ],
            at: 1_469_564_801, request: #"{"state":{"reported":{"color":"green"},"desired":null}}"#, reply: .accepted,
            expected:
                #"{"state":{"reported":{"color":"green"},"desired":null},"metadata":{"reported":{"color":{"timestamp":1469564801}},"desired":{"timestamp":1469564801}},"version":3,"timestamp":1469564801}"#,
            source: Guide.dataFlow),
        ReplyCase(
            name: "accepted echoes a null leaf with a bare timestamp",
            before: [.init(at: 10, body: #"{"state":{"desired":{"engine":"on","speed":1}}}"#)],
            at: 20, request: #"{"state":{"desired":{"engine":null,"speed":3}}}"#, reply: .accepted,
            expected:
                #"{"state":{"desired":{"engine":null,"speed":3}},"metadata":{"desired":{"engine":{"timestamp":20},"speed":{"timestamp":20}}},"version":2,"timestamp":20}"#,
            source: Guide.dataFlow),
        ReplyCase(
            name: "accepted for state: null",
            before: [.init(at: 10, body: #"{"state":{"desired":{"a":1}}}"#)],
            at: 20, request: #"{"state":null,"clientToken":"c"}"#, reply: .accepted,
            expected: #"{"state":null,"metadata":{},"version":2,"timestamp":20,"clientToken":"c"}"#,
            source: Guide.signalbox),
        ReplyCase(
            name: "accepted keeps the request's order and drops unknown members",
            before: [.init(at: 10, body: #"{"state":{"reported":{"a":0}}}"#)],
            at: 20, request: #"{"version":1,"foo":true,"state":{"reported":{"b":1,"a":2}},"clientToken":"x"}"#,
            reply: .accepted,
            expected:
                #"{"state":{"reported":{"b":1,"a":2}},"metadata":{"reported":{"b":{"timestamp":20},"a":{"timestamp":20}}},"version":2,"timestamp":20,"clientToken":"x"}"#,
            source: Guide.simulating),
        ReplyCase(
            name: "delta: version, timestamp, state, metadata, clientToken",
            before: [.init(at: 1_591_140_517, body: lamp)], at: 1_591_141_596,
            request: #"{"state":{"desired":{"ColorRGB":[255,255,0]}},"clientToken":"\#(token)"}"#, reply: .delta,
            expected:
                #"{"version":2,"timestamp":1591141596,"state":{"ColorRGB":[255,255,0]},"metadata":{"ColorRGB":[{"timestamp":1591141596},{"timestamp":1591141596},{"timestamp":1591141596}]},"clientToken":"\#(token)"}"#,
            source: Guide.simulating),
        ReplyCase(
            name: "delta without clientToken",
            before: [.init(at: 1_469_564_492, body: #"{"state":{"reported":{"color":"red"}}}"#)],
            at: 1_469_564_658, request: #"{"state":{"desired":{"color":"green"}}}"#, reply: .delta,
            expected:
                #"{"version":2,"timestamp":1469564658,"state":{"color":"green"},"metadata":{"color":{"timestamp":1469564658}}}"#,
            source: Guide.dataFlow),
        ReplyCase(
            name: "delta lists every differing desired field with its own timestamp",
            before: [.init(at: 100, body: #"{"state":{"desired":{"a":1,"same":true},"reported":{"same":true}}}"#)],
            at: 200, request: #"{"state":{"desired":{"b":2}}}"#, reply: .delta,
            expected:
                #"{"version":2,"timestamp":200,"state":{"a":1,"b":2},"metadata":{"a":{"timestamp":100},"b":{"timestamp":200}}}"#,
            source: Guide.mqtt),
        ReplyCase(
            name: "delta of nested objects: path to the root",
            before: [.init(at: 100, body: #"{"state":{"reported":{"lights":{"color":{"r":255,"g":0,"b":255}}}}}"#)],
            at: 200, request: #"{"state":{"desired":{"lights":{"color":{"r":255,"g":255,"b":255}}}}}"#, reply: .delta,
            expected:
                #"{"version":2,"timestamp":200,"state":{"lights":{"color":{"g":255}}},"metadata":{"lights":{"color":{"g":{"timestamp":200}}}}}"#,
            source: Guide.document),
        ReplyCase(
            name: "documents on creation: previous is null",
            at: 1_483_467_764, request: #"{"state":{"reported":{"color":"red"}}}"#, reply: .documents,
            expected:
                #"{"previous":null,"current":{"state":{"reported":{"color":"red"}},"metadata":{"reported":{"color":{"timestamp":1483467764}}},"version":1},"timestamp":1483467764}"#,
            source: Guide.dataFlow),
        ReplyCase(
            name: "documents: previous, current, timestamp, clientToken; no delta",
            before: [.init(at: 100, body: #"{"state":{"desired":{"c":"g"},"reported":{"ID":"L","c":"r"}}}"#)],
            at: 200, request: #"{"state":{"reported":{"c":"g"}},"clientToken":"a4dc"}"#, reply: .documents,
            expected:
                #"{"previous":{"state":{"desired":{"c":"g"},"reported":{"ID":"L","c":"r"}},"metadata":{"desired":{"c":{"timestamp":100}},"reported":{"ID":{"timestamp":100},"c":{"timestamp":100}}},"version":1},"current":{"state":{"desired":{"c":"g"},"reported":{"ID":"L","c":"g"}},"metadata":{"desired":{"c":{"timestamp":100}},"reported":{"ID":{"timestamp":100},"c":{"timestamp":200}}},"version":2},"timestamp":200,"clientToken":"a4dc"}"#,
            source: Guide.simulating),
        ReplyCase(
            name: "documents after desired: null drop its metadata",
            before: [.init(at: 100, body: #"{"state":{"desired":{"c":"g"},"reported":{"c":"r"}}}"#)],
            at: 200, request: #"{"state":{"reported":{"c":"g"},"desired":null}}"#, reply: .documents,
            expected:
                #"{"previous":{"state":{"desired":{"c":"g"},"reported":{"c":"r"}},"metadata":{"desired":{"c":{"timestamp":100}},"reported":{"c":{"timestamp":100}}},"version":1},"current":{"state":{"reported":{"c":"g"}},"metadata":{"reported":{"c":{"timestamp":200}}},"version":2},"timestamp":200}"#,
            source: Guide.dataFlow),
    ]

    @Test(arguments: replyCases)
    func replyBytes(_ row: ReplyCase) throws {
        let engine = ShadowEngine()
        let current = try engine.applying(row.before.map { ($0.at, $0.body) })
        let outcome = try engine.update(try engine.parseUpdate(body(row.request)), current: current, now: row.at)
        let reply: Value? =
            switch row.reply {
            case .accepted: outcome.accepted
            case .delta: outcome.delta
            case .documents: outcome.documents
            }
        #expect(reply.map(text) == row.expected, "\(row.source)")
    }

    struct NoDeltaCase: Sendable, CustomTestStringConvertible {
        var name: String
        var before: [String]
        var request: String
        var source: String
        var testDescription: String { name }
    }

    static let noDeltaCases: [NoDeltaCase] = [
        NoDeltaCase(
            name: "reported-only update, even with a delta in place", before: [#"{"state":{"desired":{"a":1}}}"#],
            request: #"{"state":{"reported":{"b":2}}}"#, source: Guide.mqtt),
        NoDeltaCase(
            name: "desired written equal to reported", before: [#"{"state":{"reported":{"a":1,"b":[1,2]}}}"#],
            request: #"{"state":{"desired":{"a":1,"b":[1,2]}}}"#, source: Guide.simulating),
        NoDeltaCase(
            name: "reported catches up with desired", before: [#"{"state":{"desired":{"a":1}}}"#],
            request: #"{"state":{"reported":{"a":1}}}"#, source: Guide.simulating),
        NoDeltaCase(
            name: "desired: null", before: [#"{"state":{"desired":{"a":1}}}"#], request: #"{"state":{"desired":null}}"#,
            source: Guide.mqtt),
        NoDeltaCase(
            name: "state: null", before: [#"{"state":{"desired":{"a":1}}}"#], request: #"{"state":null}"#,
            source: Guide.mqtt),
        NoDeltaCase(
            name: "deleting the last differing desired field",
            before: [#"{"state":{"desired":{"a":1,"b":2},"reported":{"b":2}}}"#],
            request: #"{"state":{"desired":{"a":null}}}"#, source: Guide.mqtt),
        NoDeltaCase(
            name: "1 written where 1.0 is reported", before: [#"{"state":{"reported":{"t":1.0}}}"#],
            request: #"{"state":{"desired":{"t":1}}}"#, source: Guide.signalbox),
    ]

    @Test(arguments: noDeltaCases)
    func noDeltaMessage(_ row: NoDeltaCase) throws {
        let engine = ShadowEngine()
        let current = try engine.applying(row.before.map { (100, $0) })
        let outcome = try engine.update(try engine.parseUpdate(body(row.request)), current: current, now: 200)
        #expect(outcome.delta == nil, "\(row.source)")
    }

    struct GetCase: Sendable, CustomTestStringConvertible {
        var name: String
        var updates: [String]
        var request: String
        var expected: String
        var source: String
        var testDescription: String { name }
    }

    static let getCases: [GetCase] = [
        GetCase(
            name: "desired, reported and delta; metadata; version; timestamp; clientToken",
            updates: [
                #"{"state":{"reported":{"ID":"SmartLamp21","ColorRGB":[128,128,128]}}}"#,
                #"{"state":{"desired":{"ColorRGB":[255,255,0]}}}"#,
            ],
            request: #"{"clientToken":"426bfd96"}"#,
            expected:
                #"{"state":{"desired":{"ColorRGB":[255,255,0]},"reported":{"ID":"SmartLamp21","ColorRGB":[128,128,128]},"delta":{"ColorRGB":[255,255,0]}},"metadata":{"desired":{"ColorRGB":[{"timestamp":100},{"timestamp":100},{"timestamp":100}]},"reported":{"ID":{"timestamp":100},"ColorRGB":[{"timestamp":100},{"timestamp":100},{"timestamp":100}]}},"version":2,"timestamp":999,"clientToken":"426bfd96"}"#,
            source: Guide.simulating),
        GetCase(
            name: "no delta when desired matches reported",
            updates: [#"{"state":{"desired":{"a":1},"reported":{"a":1,"b":2}}}"#], request: "",
            expected:
                #"{"state":{"desired":{"a":1},"reported":{"a":1,"b":2}},"metadata":{"desired":{"a":{"timestamp":100}},"reported":{"a":{"timestamp":100},"b":{"timestamp":100}}},"version":1,"timestamp":999}"#,
            source: Guide.document),
        GetCase(
            name: "desired only: delta is all of desired",
            updates: [#"{"state":{"desired":{"a":{"b":1}}}}"#], request: "",
            expected:
                #"{"state":{"desired":{"a":{"b":1}},"delta":{"a":{"b":1}}},"metadata":{"desired":{"a":{"b":{"timestamp":100}}}},"version":1,"timestamp":999}"#,
            source: Guide.document),
        GetCase(
            name: "state: null keeps an empty shadow",
            updates: [#"{"state":{"desired":{"a":1},"reported":{"a":2}}}"#, #"{"state":null}"#], request: "",
            expected: #"{"state":{},"metadata":{},"version":2,"timestamp":999}"#, source: Guide.dataFlow),
    ]

    @Test(arguments: getCases)
    func getBytes(_ row: GetCase) throws {
        let engine = ShadowEngine()
        let record = try engine.applying(row.updates.map { (100, $0) })
        let reply = try engine.get(
            engine.parseControl(body(row.request)), key: ShadowKey(thing: "lamp"), current: record, now: 999)
        #expect(text(reply) == row.expected, "\(row.source)")
    }

    @Test(arguments: [
        ("", #"{"version":4,"timestamp":1591057529}"#),
        (#"{"clientToken":"tok"}"#, #"{"version":4,"timestamp":1591057529,"clientToken":"tok"}"#),
    ])
    func deleteAcceptedBytes(request: String, expected: String) throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-data-flow.html (delete/accepted example)
        let engine = ShadowEngine()
        let record = ShadowRecord(desired: ["a": 1], desiredMetadata: ["a": ["timestamp": 1]], version: 4, timestamp: 1)
        let outcome = try engine.delete(
            engine.parseControl(body(request)), key: ShadowKey(thing: "t"), current: record, now: 1_591_057_529)
        #expect(text(outcome.accepted) == expected)
        #expect(outcome.record == ShadowRecord(version: 4, timestamp: 1_591_057_529, isDeleted: true))
    }

    struct RejectionCase: Sendable, CustomTestStringConvertible {
        var request: String
        var expected: String
        var source: String
        var testDescription: String { request }
    }

    static let rejectionCases: [RejectionCase] = [
        RejectionCase(
            request: #"{"state":{},"version":"x","clientToken":"426bfd96"}"#,
            expected: #"{"code":400,"message":"Invalid version","timestamp":77,"clientToken":"426bfd96"}"#,
            source: Guide.document),
        RejectionCase(
            request: #"{"clientToken":"c1"}"#,
            expected: #"{"code":400,"message":"Missing required node: state","timestamp":77,"clientToken":"c1"}"#,
            source: Guide.errors),
        RejectionCase(
            request: #"{"state":[]}"#,
            expected: #"{"code":400,"message":"State node must be an object","timestamp":77}"#,
            source: Guide.errors),
        RejectionCase(
            request: #"{"state":{},"clientToken":""# + String(repeating: "k", count: 65) + #""}"#,
            expected: #"{"code":400,"message":"Invalid clientToken","timestamp":77}"#, source: Guide.errors),
        RejectionCase(
            request: #"{"state":{},"clientToken":""}"#,
            expected: #"{"code":400,"message":"Invalid clientToken","timestamp":77}"#, source: Guide.errors),
        RejectionCase(
            request: "{nope", expected: #"{"code":400,"message":"Invalid JSON","timestamp":77}"#, source: Guide.errors),
    ]

    @Test(arguments: rejectionCases)
    func rejectionBytes(_ row: RejectionCase) throws {
        let engine = ShadowEngine()
        let error = try #require(
            shadowErrorSync { () throws(ShadowError) in try engine.parseUpdate(body(row.request)) })
        let reply = engine.rejection(error, clientToken: engine.salvageClientToken(body(row.request)), now: 77)
        #expect(text(reply) == row.expected, "\(row.source)")
    }

    @Test(
        arguments: [
            (
                ShadowError.notFound(ShadowKey(thing: "simShadow1")), "tok",
                #"{"code":404,"message":"No shadow exists with name: 'simShadow1'","timestamp":5,"clientToken":"tok"}"#
            ),
            (
                ShadowError.notFound(ShadowKey(thing: "t", name: "Limits")), nil,
                #"{"code":404,"message":"No shadow exists with name: 'Limits'","timestamp":5}"#
            ),
            (
                ShadowError(.conflict, "Version conflict"), "426bfd96",
                #"{"code":409,"message":"Version conflict","timestamp":5,"clientToken":"426bfd96"}"#
            ),
            (
                ShadowError(.payloadTooLarge, "The payload exceeds the maximum size allowed"), nil,
                #"{"code":413,"message":"The payload exceeds the maximum size allowed","timestamp":5}"#
            ),
        ] as [(ShadowError, String?, String)])
    func rejectionOfServiceErrors(error: ShadowError, clientToken: String?, expected: String) {
        // https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html (error response document)
        #expect(text(ShadowEngine().rejection(error, clientToken: clientToken, now: 5)) == expected)
    }

    // MARK: - Versions

    struct VersionCase: Sendable, CustomTestStringConvertible {
        var name: String
        var current: ShadowRecord?
        var requestVersion: Int64?
        var now: Int64 = 1_000_000
        /// The new version, or `nil` for a 409.
        var expected: Int64?
        var source: String
        var testDescription: String { name }
    }

    static let live10 = ShadowRecord(
        reported: ["a": 1], reportedMetadata: ["a": ["timestamp": 1]], version: 10, timestamp: 1)
    static let tombstone3 = ShadowRecord(version: 3, timestamp: 1_000_000 - 3600, isDeleted: true)
    static let retention: Int64 = 48 * 3600

    static let versionCases: [VersionCase] = [
        VersionCase(name: "first update gives version 1", current: nil, expected: 1, source: Guide.dataFlow),
        VersionCase(
            name: "version 0 on a missing shadow", current: nil, requestVersion: 0, expected: 1, source: Guide.dataFlow),
        VersionCase(
            name: "version 1 on a missing shadow", current: nil, requestVersion: 1, expected: nil,
            source: Guide.dataFlow),
        VersionCase(name: "no version: +1", current: live10, expected: 11, source: Guide.document),
        VersionCase(
            name: "matching version: accepted, +1", current: live10, requestVersion: 10, expected: 11,
            source: Guide.dataFlow),
        VersionCase(
            name: "older version: conflict", current: live10, requestVersion: 9, expected: nil, source: Guide.dataFlow),
        VersionCase(
            name: "newer version: conflict (no >= rule)", current: live10, requestVersion: 11, expected: nil,
            source: Guide.dataFlow),
        VersionCase(
            name: "version 0 on a live shadow: conflict", current: live10, requestVersion: 0, expected: nil,
            source: Guide.dataFlow),
        VersionCase(name: "re-created within 48 h continues", current: tombstone3, expected: 4, source: Guide.dataFlow),
        VersionCase(
            name: "re-created with version 0", current: tombstone3, requestVersion: 0, expected: 4,
            source: Guide.dataFlow),
        VersionCase(
            name: "a deleted shadow's version does not match", current: tombstone3, requestVersion: 3, expected: nil,
            source: Guide.dataFlow),
        VersionCase(
            name: "re-created exactly at 48 h continues",
            current: ShadowRecord(version: 3, timestamp: 1_000_000 - retention, isDeleted: true), expected: 4,
            source: Guide.dataFlow),
        VersionCase(
            name: "re-created after 48 h starts afresh",
            current: ShadowRecord(version: 3, timestamp: 1_000_000 - retention - 1, isDeleted: true), expected: 1,
            source: Guide.dataFlow),
    ]

    @Test(arguments: versionCases)
    func versions(_ row: VersionCase) throws {
        let engine = ShadowEngine()
        let request = ShadowUpdateRequest(
            desired: .merge(["x": 1]), state: ["desired": ["x": 1]], version: row.requestVersion)
        let result = Result { () throws(ShadowError) in try engine.update(request, current: row.current, now: row.now) }
        switch result {
        case .success(let outcome):
            #expect(outcome.record.version == row.expected, "\(row.source)")
            #expect(outcome.accepted["version"] == row.expected.map(Value.int), "\(row.source)")
            #expect(outcome.record.isDeleted == false)
        case .failure(let error):
            #expect(row.expected == nil, "\(row.source)")
            #expect(error == ShadowError(.conflict, "Version conflict"), "\(row.source)")
        }
    }

    // MARK: - Size

    @Test(arguments: [
        // desired {"a":"x…"} is n + 8 bytes of compact JSON; metadata does not count.
        (8184, nil as String?, true), (8185, nil, false),
        (4000, #"{"b":""# + String(repeating: "y", count: 4176) + #""}"#, true),
        (4000, #"{"b":""# + String(repeating: "y", count: 4177) + #""}"#, false),
    ])
    func mergedStateIsLimitedTo8KB(desiredLength: Int, reported: String?, fits: Bool) throws {
        // https://docs.aws.amazon.com/iot/latest/developerguide/diagnosing-shadows.html ("8 KB of data only")
        let engine = ShadowEngine()
        var steps: [(Int64, String)] = []
        if let reported { steps.append((1, #"{"state":{"reported":"# + reported + "}}")) }
        steps.append((2, #"{"state":{"desired":{"a":""# + String(repeating: "x", count: desiredLength) + #""}}}"#))
        let error = shadowErrorSync { () throws(ShadowError) in try engine.applying(steps) }
        if fits {
            #expect(error == nil)
        } else {
            #expect(error == ShadowError(.payloadTooLarge, "The payload exceeds the maximum size allowed"))
        }
    }
}
