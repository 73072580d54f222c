-- Tables: sorting, insertion, metatables and metamethods, closures, varargs, integer keys.
local t = { 5, 3, 8, 1, 9, 2 }
table.sort(t) print(table.concat(t, " "))
table.sort(t, function(a, b) return a > b end) print(table.concat(t, " "))
table.insert(t, 1, 100) table.remove(t) print(table.concat(t, ","), #t)
print(table.unpack({ 1, 2, 3 }))
local Vec = {}
Vec.__index = Vec
Vec.__add = function(a, b) return setmetatable({ x = a.x + b.x, y = a.y + b.y }, Vec) end
Vec.__tostring = function(v) return "(" .. v.x .. ", " .. v.y .. ")" end
Vec.__eq = function(a, b) return a.x == b.x and a.y == b.y end
function Vec.len2(v) return v.x * v.x + v.y * v.y end
local a, b = setmetatable({ x = 1, y = 2 }, Vec), setmetatable({ x = 3, y = 4 }, Vec)
print(tostring(a + b), (a + b):len2(), a == setmetatable({ x = 1, y = 2 }, Vec))
local function counter() local n = 0 return function() n = n + 1 return n end end
local c1, c2 = counter(), counter()
c1() c1() print(c1(), c2())
local function sum(...) local s = 0 for _, v in ipairs({ ... }) do s = s + v end return s, select("#", ...) end
print(sum(1, 2, 3, 4))
local keys = {} for k in pairs({ a = 1, b = 2, c = 3 }) do keys[#keys + 1] = k end table.sort(keys)
print(table.concat(keys))
local default = setmetatable({}, { __index = function(_, k) return k .. "!" end }) print(default.hi)
print(next({}), rawlen({ 1, 2 }), rawequal(t, t))
