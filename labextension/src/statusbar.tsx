/** The status-bar item: how many tasks are running in the workspace on show. */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React from 'react';
import { useSlice } from './components/common';
import { OrchModel } from './model';
import { TASK_ACTIVE } from './constants';

const RUNNING = new Set(TASK_ACTIVE);

function RunningTasks(props: { model: OrchModel; trans: TranslationBundle; onClick: () => void }): JSX.Element {
  const tasks = useSlice(props.model.tasks);
  const running = tasks.items.filter(t => RUNNING.has(t.status) && !t.killed).length;
  return (
    <span
      className="jp-orch-statusbar"
      data-running={running}
      onClick={props.onClick}
      title={props.trans.__('Orchestration tasks running')}
    >
      {props.trans._n('%1 task running', '%1 tasks running', running)}
    </span>
  );
}

export function runningTasksItem(model: OrchModel, trans: TranslationBundle, onClick: () => void): ReactWidget {
  const widget = ReactWidget.create(<RunningTasks model={model} trans={trans} onClick={onClick} />);
  widget.addClass('jp-orch-statusbar-item');
  return widget;
}
