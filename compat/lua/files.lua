-- io and os: writing and reading files in /tmp, lines, seek, removing, environment, clocks.
local path = "/tmp/lua-test.txt"
local f = assert(io.open(path, "w"))
for i = 1, 5 do f:write("line ", i, "\n") end
f:close()
for line in io.lines(path) do io.write(line:upper(), ";") end print()
f = assert(io.open(path, "r"))
print(f:read("l"), f:read("n"), f:seek("cur"), f:seek("end"))
f:close()
f = assert(io.open(path, "a")) f:write("appended\n") f:close()
f = assert(io.open(path)) local all = f:read("a") f:close() print(#all, select(2, all:gsub("\n", "")))
print(os.rename(path, path .. ".2"), io.open(path) == nil)
print(os.remove(path .. ".2"), os.remove(path .. ".2") == nil)
print(os.getenv("HOME"), os.getenv("NOT_SET"))
print(type(os.time()), type(os.clock()), os.date("!%Y-%m-%d", 0))
print(pcall(error, { code = 7 }), select(2, pcall(error, "msg", 0)))
print(select("#", io.open("/nonexistent")))
