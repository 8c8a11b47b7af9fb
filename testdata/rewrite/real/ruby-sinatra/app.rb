require "sinatra"

get "/" do
  content_type :json
  '{"status":"ok"}'
end

get "/healthz" do
  "ok\n"
end
