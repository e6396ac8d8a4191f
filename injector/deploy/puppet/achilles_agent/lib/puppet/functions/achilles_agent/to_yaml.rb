# frozen_string_literal: true

# achilles_agent::to_yaml(DATA): DATA as a YAML document, written by Ruby's own YAML library
# (Psych), as puppetlabs-stdlib's to_yaml does. Debian 12's puppet 7 has no to_yaml of its own,
# and the module should not need stdlib for one function.
Puppet::Functions.create_function(:'achilles_agent::to_yaml') do
  dispatch :to_yaml do
    param 'Data', :data
  end

  def to_yaml(data)
    data.to_yaml
  end
end
