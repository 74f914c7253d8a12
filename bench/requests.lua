-- wrk script: send prepared requests, each once, spread over wrk's threads.
-- Arguments (after "--"): <requests file> <first request> <thread count>
-- The file has one request a line: "<method>\t<path>\t<bearer token>\t<json body>" (the body
-- may be empty). Thread k sends requests first+k, first+k+T, first+k+2T, ... so no request is
-- sent twice while the file lasts (an order is shipped once, a line disputed once).
-- done() prints "bench <name> <value>" lines for bench/load.py to read.

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   local path, first, count = args[1], tonumber(args[2]), tonumber(args[3])
   requests, sent, wrapped = {}, 0, 0
   local i = 0
   for line in io.lines(path) do
      if i >= first and (i - first) % count == id then
         local method, target, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
         local headers = {["Authorization"] = "Bearer " .. token}
         if body == "" then
            body = nil
         else
            headers["Content-Type"] = "application/json"
         end
         requests[#requests + 1] = wrk.format(method, target, headers, body)
      end
      i = i + 1
   end
end

function request()
   sent = sent + 1
   if sent > #requests then
      wrapped = 1 -- out of fresh requests: these repeats will likely be refused (409), and counted
      return requests[(sent - 1) % #requests + 1]
   end
   return requests[sent]
end

function done(summary, latency, requests_stats)
   local most, wraps = 0, 0
   for _, thread in ipairs(threads) do
      most = math.max(most, thread:get("sent"))
      wraps = wraps + thread:get("wrapped")
   end
   io.write(string.format("bench requests %d\n", summary.requests))
   io.write(string.format("bench duration_us %d\n", summary.duration))
   io.write(string.format("bench errors_status %d\n", summary.errors.status))
   io.write(string.format("bench errors_socket %d\n", summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
   io.write(string.format("bench most_sent_by_a_thread %d\n", most))
   io.write(string.format("bench threads_out_of_bodies %d\n", wraps))
   for _, p in ipairs({50, 90, 99}) do
      io.write(string.format("bench p%d_us %d\n", p, latency:percentile(p)))
   end
   io.write(string.format("bench mean_us %d\n", latency.mean))
   io.write(string.format("bench max_us %d\n", latency.max))
end
