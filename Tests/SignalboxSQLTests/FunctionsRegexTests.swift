import SignalboxJSON
import Testing

@testable import SignalboxSQL

/// Regular-expression functions: the guide's examples, Java-compatible details, the pattern cache.
struct FunctionsRegexTests {
    static let U = FunctionHarness.U

    static let guideExamples: [FunctionCase] = [
        FunctionCase("regexp_matches", ["aaaa", "a{2,}"], true),
        FunctionCase("regexp_matches", ["aaaa", "b"], false),
        FunctionCase("regexp_replace", ["abcd", "bc", "x"], "axd"),
        FunctionCase("regexp_replace", ["abcd", "b(.*)d", "$1"], "ac"),
        FunctionCase("regexp_substr", ["hihihello", "hi"], "hi"),
        FunctionCase("regexp_substr", ["hihihello", "(hi)*"], "hihi"),
    ]

    @Test(arguments: guideExamples)
    func guideExample(_ example: FunctionCase) throws { try example.check() }

    static let edgeCases: [FunctionCase] = [
        // regexp_matches finds a match anywhere (not a whole-string match).
        FunctionCase("regexp_matches", ["xaay", "a{2}"], true), FunctionCase("regexp_matches", ["abc", "^b"], false),
        FunctionCase("regexp_matches", ["ABC", "(?i)abc"], true),
        FunctionCase("regexp_matches", [123, "^\\d+$"], true),
        FunctionCase("regexp_matches", [true, "ru"], true), FunctionCase("regexp_matches", [[1], "\\["], true),
        // Invalid patterns, and Null/Undefined arguments, give Undefined.
        FunctionCase("regexp_matches", ["abc", "("], U), FunctionCase("regexp_matches", ["abc", "[a-"], U),
        FunctionCase("regexp_matches", [.null, "a"], U), FunctionCase("regexp_matches", ["a", U], U),
        FunctionCase("regexp_matches", [U, "a"], U),
        // Java's defaults: \d, \w and \s are ASCII; "." is one code point, not a grapheme.
        FunctionCase("regexp_matches", ["\u{0661}", "\\d"], false), FunctionCase("regexp_matches", ["é", "^.$"], true),
        FunctionCase("regexp_matches", ["e\u{301}", "^..$"], true),
        FunctionCase("regexp_matches", ["a\nb", "a.b"], false),
        // regexp_substr: the first match; no match is Undefined.
        FunctionCase("regexp_substr", ["abc123def", "[0-9]+"], "123"),
        FunctionCase("regexp_substr", ["abc", "\\d"], U),
        FunctionCase("regexp_substr", ["abc", "x*"], ""), FunctionCase("regexp_substr", ["abc", ")"], U),
        FunctionCase("regexp_substr", [.null, "a"], U),
        // regexp_replace: all matches; Java replacement syntax.
        FunctionCase("regexp_replace", ["a1b22c333", "[0-9]+", "#"], "a#b#c#"),
        FunctionCase("regexp_replace", ["abc", "x*", "-"], "-a-b-c-"),
        FunctionCase("regexp_replace", ["John Smith", "(\\w+) (\\w+)", "$2, $1"], "Smith, John"),
        FunctionCase("regexp_replace", ["2020-04", "(?<y>\\d+)-(?<m>\\d+)", "${m}/${y}"], "04/2020"),
        FunctionCase("regexp_replace", ["abc", "b", "\\$1"], "a$1c"),
        FunctionCase("regexp_replace", ["abc", "b", "\\\\"], "a\\c"),
        FunctionCase("regexp_replace", ["abc", "(b)", "$0$1"], "abbc"),
        // "$12" with one group is group 1 followed by "2", as in Java.
        FunctionCase("regexp_replace", ["abc", "(b)", "$12"], "ab2c"),
        // An unmatched optional group inserts nothing.
        FunctionCase("regexp_replace", ["ac", "a(b)?c", "[$1]"], "[]"),
        // Malformed replacements and references to missing groups are Undefined (Java throws).
        FunctionCase("regexp_replace", ["abc", "b", "$2"], U), FunctionCase("regexp_replace", ["abc", "b", "$x"], U),
        FunctionCase("regexp_replace", ["abc", "b", "x\\"], U),
        FunctionCase("regexp_replace", ["abc", "b", "${nope}"], U),
        FunctionCase("regexp_replace", ["abc", "b", "$"], U),
        // ...but only when there is something to replace, as in Java.
        FunctionCase("regexp_replace", ["abc", "z", "$9"], "abc"),
        FunctionCase("regexp_replace", [12321, 2, 0], "10301"), FunctionCase("regexp_replace", ["abc", "(", "x"], U),
        FunctionCase("regexp_replace", [.null, "a", "b"], U), FunctionCase("regexp_replace", ["a", "a", U], U),
        FunctionCase("regexp_replace", ["héllo wörld", "[öé]", "_"], "h_llo w_rld"),
    ]

    @Test(arguments: edgeCases)
    func edgeCase(_ example: FunctionCase) throws { try example.check() }

    @Test func cacheCompilesEachPatternOnceAndRemembersInvalidOnes() {
        let cache = RegexCache(limit: 2)
        #expect(cache.regex("a+") != nil)
        #expect(cache.regex("a+") != nil)
        #expect(cache.regex("(") == nil)
        #expect(cache.regex("(") == nil)
        // Filling past the limit empties the cache and keeps working.
        #expect(cache.regex("b+") != nil)
        #expect(cache.regex(.int(5)) != nil)
        #expect(cache.regex(.null) == nil)
    }

    @Test func concurrentUseOfOnePattern() async {
        await withTaskGroup(of: Bool.self) { group in
            for i in 0..<64 {
                group.addTask {
                    let result = try? FunctionHarness.call("regexp_replace", [.string("item-\(i)"), "(\\d+)", "#$1"])
                    return result == .string("item-#\(i)")
                }
            }
            for await ok in group { #expect(ok) }
        }
    }

    @Test(arguments: [
        ("$1", 1, [RegexFunctions.ReplacementPart.group(1)]),
        ("a$1b", 1, [.literal("a"), .group(1), .literal("b")]),
        ("$10", 10, [.group(10)]),
        ("$10", 1, [.group(1), .literal("0")]),
        ("\\$1", 1, [.literal("$1")]),
        ("${name}!", 0, [.named("name"), .literal("!")]),
    ])
    func replacementParsing(_ template: String, _ groups: Int, _ expected: [RegexFunctions.ReplacementPart]) {
        #expect(RegexFunctions.parseReplacement(template, groupCount: groups) == expected)
    }
}
