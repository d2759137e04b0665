import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// String functions: the guide's examples verbatim, then conversions and edge cases.
struct FunctionsStringTests {
    static let U = FunctionHarness.U

    static let guideExamples: [FunctionCase] = [
        FunctionCase("chr", [65], "A"),
        FunctionCase("chr", [49], "1"),
        FunctionCase("endswith", ["cat", "at"], true),
        FunctionCase("indexof", ["abcd", "bc"], 1),
        FunctionCase("length", ["hi"], 2),
        FunctionCase("length", [false], 5),
        FunctionCase("lower", ["HELLO"], "hello"),
        FunctionCase("lower", [["HELLO"]], #"["hello"]"#),
        FunctionCase("lpad", ["hello", 2], "  hello"),
        FunctionCase("lpad", [1, 3], "   1"),
        // The guide shows `Ltrim(" h i ")` = "hi "; removing only leading white space gives "h i ".
        FunctionCase("Ltrim", [" h i "], "h i "),
        FunctionCase("numbytes", ["hi"], 2),
        FunctionCase("numbytes", ["€"], 3),
        FunctionCase("replace", ["abcd", "bc", "x"], "axd"),
        FunctionCase("replace", ["abcdabcd", "b", "x"], "axcdaxcd"),
        FunctionCase("rpad", ["hello", 2], "hello  "),
        FunctionCase("rpad", [1, 3], "1   "),
        FunctionCase("rtrim", [" h i "], " h i"),
        FunctionCase("startswith", ["ranger", "ran"], true),
        FunctionCase("substring", ["012345", 0], "012345"),
        FunctionCase("substring", ["012345", 2], "2345"),
        FunctionCase("substring", ["012345", 2.745], "2345"),
        FunctionCase("substring", [123, 2], "3"),
        FunctionCase("substring", ["012345", -1], "012345"),
        FunctionCase("substring", [true, 1.2], "rue"),
        FunctionCase("substring", [false, -2.411E247], "false"),
        FunctionCase("substring", ["012345", 1, 3], "12"),
        FunctionCase("substring", ["012345", -50, 50], "012345"),
        FunctionCase("substring", ["012345", 3, 1], ""),
        FunctionCase("Trim", [" hi "], "hi"),
        FunctionCase("upper", ["hello"], "HELLO"),
        FunctionCase("upper", [["hello"]], #"["HELLO"]"#),
    ]

    @Test(arguments: guideExamples)
    func guideExample(_ example: FunctionCase) throws { try example.check() }

    static let edgeCases: [FunctionCase] = [
        // chr: 0…127 only; Decimals and numeric strings rounded down.
        FunctionCase("chr", [65.9], "A"), FunctionCase("chr", ["66"], "B"), FunctionCase("chr", [128], U),
        FunctionCase("chr", [-1], U), FunctionCase("chr", [0], "\u{0}"), FunctionCase("chr", [true], U),
        FunctionCase("chr", ["A"], U), FunctionCase("chr", [.null], U), FunctionCase("chr", [U], U),
        // startswith/endswith: To String on both; Null/Undefined → Undefined.
        FunctionCase("startswith", [123, 12], true), FunctionCase("startswith", ["abc", ""], true),
        FunctionCase("startswith", ["ab", "abc"], false), FunctionCase("startswith", [.null, "a"], U),
        FunctionCase("startswith", ["a", U], U), FunctionCase("endswith", [1.5, ".5"], true),
        FunctionCase("endswith", [true, "ue"], true), FunctionCase("endswith", ["cat", "dog"], false),
        FunctionCase("endswith", ["a", .null], U), FunctionCase("endswith", [["x"], "]"], true),
        // "é" precomposed does not start with a plain "e" (no canonical-equivalence matching).
        FunctionCase("startswith", ["\u{E9}t\u{E9}", "e"], false),
        // indexof: -1 when absent; character (not byte) positions.
        FunctionCase("indexof", ["abcd", "x"], -1), FunctionCase("indexof", ["abcd", ""], 0),
        FunctionCase("indexof", ["€uro€", "ro"], 2), FunctionCase("indexof", [12345, 34], 2),
        FunctionCase("indexof", [U, "a"], U), FunctionCase("indexof", ["a", .null], U),
        // length/numbytes: characters are Unicode scalars.
        FunctionCase("length", [""], 0), FunctionCase("length", ["€"], 1), FunctionCase("length", ["😀"], 1),
        FunctionCase("length", [123], 3), FunctionCase("length", [[1, 2]], 5), FunctionCase("length", [.null], U),
        FunctionCase("length", [U], U), FunctionCase("numbytes", ["😀"], 4), FunctionCase("numbytes", [1.5], 3),
        FunctionCase("numbytes", [.null], U),
        // lower/upper: To String first; Null/Undefined → Undefined.
        FunctionCase("lower", [true], "true"), FunctionCase("upper", [["k": "v"]], #"{"K":"V"}"#),
        FunctionCase("upper", ["straße"], "STRASSE"), FunctionCase("lower", [.null], U), FunctionCase("upper", [U], U),
        // lpad/rpad: count rounded down and clamped to 0…1000; non-numeric count → Undefined.
        FunctionCase("lpad", ["x", -5], "x"), FunctionCase("lpad", ["x", 2.9], "  x"),
        FunctionCase("lpad", ["x", "2"], "  x"),
        FunctionCase("lpad", ["x", "two"], U), FunctionCase("lpad", ["x", true], U),
        FunctionCase("lpad", ["x", .null], U),
        FunctionCase("lpad", [.null, 2], U), FunctionCase("lpad", [U, 2], U), FunctionCase("rpad", [[1], 1], "[1] "),
        FunctionCase("rpad", ["x", 0], "x"), FunctionCase("rpad", ["x", ["a"]], U),
        // trims: ASCII white space (space, tab, line breaks) only.
        FunctionCase("trim", ["\t\n x \r\n"], "x"), FunctionCase("trim", ["   "], ""), FunctionCase("trim", [""], ""),
        FunctionCase("trim", [5], "5"), FunctionCase("trim", [[" a "]], #"[" a "]"#), FunctionCase("trim", [.null], U),
        FunctionCase("ltrim", ["\t x"], "x"), FunctionCase("ltrim", [U], U), FunctionCase("rtrim", ["x \t"], "x"),
        FunctionCase("rtrim", [false], "false"), FunctionCase("rtrim", [.null], U),
        FunctionCase("trim", ["\u{A0}x\u{A0}"], "\u{A0}x\u{A0}"),
        // replace: literal (not regex); every argument To String.
        FunctionCase("replace", ["a.c", ".", "-"], "a-c"), FunctionCase("replace", ["aaa", "aa", "b"], "ba"),
        FunctionCase("replace", [12321, 2, 0], "10301"), FunctionCase("replace", ["abc", "", "-"], "-a-b-c-"),
        FunctionCase("replace", ["abc", "x", "y"], "abc"), FunctionCase("replace", ["a€b€", "€", "E"], "aEbE"),
        FunctionCase("replace", [.null, "a", "b"], U), FunctionCase("replace", ["a", U, "b"], U),
        FunctionCase("replace", ["a", "a", .null], U), FunctionCase("replace", [[1, 2], ",", ";"], "[1;2]"),
        // substring: character positions; bad index types → Undefined.
        FunctionCase("substring", ["€uro", 1, 3], "ur"), FunctionCase("substring", ["abc", "1"], "bc"),
        FunctionCase("substring", ["abc", 1, "2"], "b"), FunctionCase("substring", ["abc", true], U),
        FunctionCase("substring", ["abc", 0, .null], U), FunctionCase("substring", ["abc", U], U),
        FunctionCase("substring", [.null, 1], U), FunctionCase("substring", ["abc", 1e300, 2e300], ""),
        FunctionCase("substring", ["abc", 3], ""), FunctionCase("substring", ["😀x", 1], "x"),
    ]

    @Test(arguments: edgeCases)
    func edgeCase(_ example: FunctionCase) throws { try example.check() }

    @Test func padIsCappedAtOneThousandSpaces() throws {
        let padded = try FunctionHarness.call("lpad", ["x", 5000])
        #expect(padded == .string(String(repeating: " ", count: 1000) + "x"))
    }
}
