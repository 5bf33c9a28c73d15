# Print "relative_path\turl" for every markdown page/document Jekyll renders.
require "jekyll"
require "tmpdir"
src, cfg = ARGV
opts = { "source" => src, "destination" => File.join(Dir.tmpdir, "jk-#{File.basename(File.expand_path(src))}"), "quiet" => true }
opts["config"] = cfg if cfg
config = Jekyll.configuration(opts)
site = Jekyll::Site.new(config)
site.reset; site.read; site.generate
items = site.pages + site.collections.values.flat_map { |c| c.write? ? c.docs : [] }
items.each do |d|
  rp = d.respond_to?(:relative_path) ? d.relative_path : d.path
  next unless rp =~ /\.(md|markdown|mdx)\z/
  next if d.respond_to?(:published?) && !d.published?
  puts "#{rp}\t#{site.config['url']}#{site.config['baseurl']}#{d.url}"
end
