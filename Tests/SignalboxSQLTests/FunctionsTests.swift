import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// Calls SQL functions directly through ``BuiltinFunctions``, for the `Functions…Tests` suites.
enum FunctionHarness {
    /// Undefined, for argument and result tables.
    static let U: Value? = nil

    /// A frame for a message on `topic` with a JSON (or binary) payload and fixed services.
    static func frame(
        topic: String = "things/myThings/thingOne", payload: String = "{}", clientID: String? = nil,
        principal: String? = nil, traceID: String? = nil, accountID: String? = nil, sourceIP: String? = nil,
        mqttProperties: [String: String] = [:], userProperties: [(name: String, value: String)] = [],
        shadows: (any ShadowLookup)? = nil
    ) -> EvaluationFrame {
        EvaluationFrame(
            message: Message(
                topic: topic, payload: Array(payload.utf8), clientID: clientID, principal: principal,
                timestamp: 1_481_825_251_155, traceID: traceID, accountID: accountID, sourceIP: sourceIP,
                mqttProperties: mqttProperties,
                userProperties: userProperties),
            services: EvaluationServices(
                shadows: shadows, now: { 1_700_000_000_000 }, uuid: { "123a4567-b89c-12d3-e456-789012345000" },
                random: { 0.8231909191640703 }))
    }

    /// Calls the function `name` (any letter case) with `arguments`, checking the arity first.
    static func call(_ name: String, _ arguments: [Value?], frame: EvaluationFrame? = nil) throws -> Value? {
        let function = try #require(BuiltinFunctions.named(name), "no function \(name)")
        #expect(arguments.count >= function.minArity, "too few arguments for \(name)")
        #expect(function.maxArity.map { arguments.count <= $0 } ?? true, "too many arguments for \(name)")
        switch function.body {
        case .unary(let body):
            try #require(arguments.count == 1, "\(name) is unary")
            return body(arguments[0])
        case .binary(let body):
            try #require(arguments.count == 2, "\(name) is binary")
            return body(arguments[0], arguments[1])
        case .ternary(let body):
            try #require(arguments.count == 3, "\(name) is ternary")
            return body(arguments[0], arguments[1], arguments[2])
        case .general(let body):
            return try body(arguments, frame ?? Self.frame())
        }
    }

    /// Parses JSON text for expectations.
    static func json(_ text: String) -> Value {
        do {
            return try JSONParser.parse(text)
        } catch {
            Issue.record("bad JSON in test: \(error)")
            return .null
        }
    }
}

/// One call and its expected result, for `@Test(arguments:)` tables.
struct FunctionCase: CustomStringConvertible, Sendable {
    var name: String
    var arguments: [Value?]
    var expected: Value?

    init(_ name: String, _ arguments: [Value?], _ expected: Value?) {
        self.name = name
        self.arguments = arguments
        self.expected = expected
    }

    var description: String {
        let shown = arguments.map { $0.map { JSONSerializer.string($0) } ?? "undefined" }.joined(separator: ", ")
        return "\(name)(\(shown))"
    }

    /// Runs the case and compares structurally (an Int is not equal to a Decimal here).
    func check() throws {
        let result = try FunctionHarness.call(name, arguments)
        #expect(result == expected, "\(self)")
    }
}

/// The registry: names, letter case, arity, determinism and the cloud-only list.
struct FunctionsTests {
    static let documented = [
        "abs", "accountid", "acos", "asin", "atan", "atan2", "bitand", "bitor", "bitxor", "bitnot", "ceil", "chr",
        "clientid", "concat", "cos", "cosh", "decode", "encode", "endswith", "exp", "floor", "get",
        "get_mqtt_property", "get_or_default", "get_thing_shadow", "get_user_properties", "md2", "md5", "sha1",
        "sha224", "sha256", "sha384", "sha512", "indexof", "isNull", "isUndefined", "length", "ln", "log", "lower",
        "lpad", "ltrim", "mod", "nanvl", "newuuid", "numbytes", "parse_time", "power", "principal", "rand",
        "regexp_matches", "regexp_replace", "regexp_substr", "remainder", "replace", "rpad", "round", "rtrim", "sign",
        "sin", "sinh", "sourceip", "substring", "sql_version", "sqrt", "startswith", "tan", "tanh", "time_to_epoch",
        "timestamp", "topic", "traceid", "transform", "trim", "trunc", "upper", "get_shadow",
    ]

    @Test(arguments: documented)
    func everyLocalFunctionIsRegistered(_ name: String) throws {
        let function = try #require(BuiltinFunctions.named(name))
        #expect(function.name.lowercased() == name.lowercased())
        #expect(BuiltinFunctions.all[name.lowercased()] != nil)
    }

    @Test func registryHoldsExactlyTheDocumentedFunctions() {
        #expect(Set(BuiltinFunctions.all.keys) == Set(Self.documented.map { $0.lowercased() }))
        for (key, function) in BuiltinFunctions.all { #expect(key == function.name.lowercased()) }
    }

    @Test(arguments: ["ABS", "Round", "Ltrim", "Trim", "Nanvl", "isnull", "ISUNDEFINED", "Sha256"])
    func namesMatchInAnyCase(_ name: String) {
        #expect(BuiltinFunctions.named(name) != nil)
    }

    @Test func unknownNamesAreNil() {
        #expect(BuiltinFunctions.named("avrg") == nil)
        #expect(BuiltinFunctions.named("cast") == nil, "cast is syntax, not a function")
        #expect(BuiltinFunctions.named("getcurrentdate") == nil)
    }

    @Test(arguments: ["aws_lambda", "get_dynamodb", "get_secret", "machinelearning_predict", "get_registry_data"])
    func cloudOnlyFunctionsHaveAReasonAndNoImplementation(_ name: String) throws {
        let reason = try #require(BuiltinFunctions.cloudOnly[name])
        #expect(reason.hasPrefix(name))
        #expect(reason.contains("instead"))
        #expect(BuiltinFunctions.named(name) == nil)
    }

    @Test func protoDecodingIsCloudOnly() throws {
        #expect(BuiltinFunctions.cloudOnlyDecodingSchemes["proto"] != nil)
        // decode(*, 'proto', bucket, key, file, type) is accepted by arity but yields Undefined.
        let result = try FunctionHarness.call("decode", ["CgRhYmNk", "proto", "bucket", "x.desc", "x", "Msg"])
        #expect(result == nil)
    }

    @Test(arguments: [
        "rand", "newuuid", "timestamp", "topic", "clientid", "principal", "traceid", "sourceip", "get_shadow",
        "get_thing_shadow", "get_mqtt_property", "get_user_properties", "accountid",
    ])
    func contextFunctionsAreNotFolded(_ name: String) throws {
        #expect(try #require(BuiltinFunctions.named(name)).isDeterministic == false)
    }

    @Test func pureFunctionsAreDeterministic() {
        let contextual: Set = [
            "rand", "newuuid", "timestamp", "topic", "clientid", "principal", "traceid", "sourceip", "get_shadow",
            "get_thing_shadow", "get_mqtt_property", "get_user_properties", "accountid",
        ]
        for (name, function) in BuiltinFunctions.all where !contextual.contains(name) {
            #expect(function.isDeterministic, "\(name)")
        }
    }

    @Test func fixedArityFunctionsUseTheFastPaths() {
        for (name, function) in BuiltinFunctions.all {
            switch function.body {
            case .unary: #expect(function.minArity == 1 && function.maxArity == 1, "\(name)")
            case .binary: #expect(function.minArity == 2 && function.maxArity == 2, "\(name)")
            case .ternary: #expect(function.minArity == 3 && function.maxArity == 3, "\(name)")
            case .general:
                // Only variadic, optional-argument or frame-reading functions take the general path.
                let pureFixed =
                    function.isDeterministic && function.maxArity == function.minArity
                    && (1...3).contains(function.minArity)
                #expect(!pureFixed, "\(name) could use a fixed-arity body")
            }
        }
    }

    @Test func arities() throws {
        let expected: [String: (Int, Int?)] = [
            "concat": (0, nil), "topic": (0, 1), "substring": (2, 3), "parse_time": (2, 3), "decode": (2, 6),
            "get_thing_shadow": (2, 3), "get_shadow": (1, 2), "get_user_properties": (0, 1), "get_or_default": (1, 2),
            "trunc": (2, 2), "lpad": (2, 2), "transform": (3, 3), "newuuid": (0, 0),
        ]
        for (name, arity) in expected {
            let function = try #require(BuiltinFunctions.named(name))
            #expect(function.minArity == arity.0 && function.maxArity == arity.1, "\(name)")
        }
    }
}
