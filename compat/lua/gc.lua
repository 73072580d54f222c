-- Memory: a large table built and dropped, weak tables emptied by the collector, closures kept.
local big = {} for i = 1, 200000 do big[i] = { i, tostring(i) } end
local sum = 0 for i = 1, #big, 1000 do sum = sum + big[i][1] end print(#big, sum)
big = nil collectgarbage("collect")
local weak = setmetatable({}, { __mode = "k" })
do local key = {} weak[key] = "value" end
collectgarbage("collect")
local n = 0 for _ in pairs(weak) do n = n + 1 end print("weak entries left", n)
local strong = {} for i = 1, 10 do strong[i] = function() return i end end print(strong[7]())
local s = {} for i = 1, 5000 do s[#s + 1] = ("x"):rep(i % 50) end print(#table.concat(s))
print(collectgarbage("isrunning"), type(collectgarbage("count")))
